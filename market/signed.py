"""A trader's signed order exactly as ``CarbonMarket`` sees it, and its link to the engine's ``Order``.

The order id everywhere (engine, SQL, API) is the contract's ``hashOrder``: the EIP-712 struct hash
``keccak256(abi.encode(ORDER_TYPEHASH, trader, side, tokenId, amount, price, expiry, salt, nonce))``.
It is what the contract's ``filled``/``cancelled`` mappings are keyed by, so the book and the chain
talk about the same order, and two submissions of one signed order are recognised as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3

from market.orders import Order, Side

ORDER_TYPEHASH = keccak(
    text="Order(address trader,uint8 side,uint256 tokenId,uint64 amount,uint256 price,uint64 expiry,"
    "uint256 salt,uint256 nonce)"
)
SIDE_CODE = {Side.BUY: 0, Side.SELL: 1}
"""``ICarbonMarket.Side``: 0 buys, 1 sells."""
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """The signed terms of an order: ``amount`` tonnes at ``price`` sen per tonne until ``expiry``
    (unix seconds), valid while the trader's contract nonce equals ``nonce``."""

    trader: str
    side: Side
    token_id: int
    amount: int
    price: int
    expiry: int
    salt: int
    nonce: int
    signature: str
    """65-byte ``r || s || v`` signature as 0x-hex."""

    def as_tuple(self) -> tuple[Any, ...]:
        """The contract's ``Order`` struct (and :func:`chain.eip712.order`'s tuple)."""
        return (
            Web3.to_checksum_address(self.trader),
            SIDE_CODE[self.side],
            self.token_id,
            self.amount,
            self.price,
            self.expiry,
            self.salt,
            self.nonce,
        )

    @property
    def order_hash(self) -> str:
        """The contract's ``hashOrder`` of these terms, 0x-hex (the order id)."""
        encoded = abi_encode(
            ["bytes32", "address", "uint8", "uint256", "uint64", "uint256", "uint64", "uint256", "uint256"],
            [ORDER_TYPEHASH, *self.as_tuple()],
        )
        return "0x" + keccak(encoded).hex()

    @property
    def signature_bytes(self) -> bytes:
        """The signature as bytes (the contract's ``bytes`` argument)."""
        return bytes.fromhex(self.signature.removeprefix("0x"))

    def to_order(self, beneficial_owner: str) -> Order:
        """The engine's order for these terms (engine expiry in milliseconds)."""
        return Order(
            order_id=self.order_hash,
            owner=Web3.to_checksum_address(self.trader),
            beneficial_owner=beneficial_owner,
            side=self.side,
            token_id=self.token_id,
            amount=self.amount,
            price=self.price,
            expiry=self.expiry * 1000,
        )

"""Pre-trade checks of a signed order against its signature and the chain, before the book sees it.

The contract checks all of this again at settlement; checking at acceptance keeps orders that can never
settle out of the book, so a counterparty is not matched against them. Checks, in order:

* the signature is in the canonical form the contract accepts (``v`` 27/28, low ``s``) and recovers to
  ``trader`` over the contract's EIP-712 digest (domain
  ``MSC Carbon Market``/``1``, this chain, this market; struct hash = ``hashOrder``);
* the order has not expired (unix seconds, as the contract compares with ``block.timestamp``), its nonce
  is the trader's current contract nonce, and it is not cancelled or already filled on-chain;
* above the contract's size limit, the trader is allowlisted: for the order alone, and (the contract
  counts each account's tonnes per UTC day, both sides) for what it traded on-chain today plus the
  tonnes of its other open orders and pending fills plus this order, so splitting an order neither
  evades the limit nor lets an order into the book that could only fail at settlement;
* a buyer holds, and has approved to the market, MSC for this order plus everything it already has
  committed (its other resting buys and its fills awaiting settlement); a seller holds the credits for
  this order plus its commitments, and has approved the market as ERC-1155 operator.

Every refusal is an :class:`~common.errors.MSCError` naming the values involved; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract

from chain import eip712
from common.errors import ConflictError, MSCError, ValidationError
from market.orders import Side
from market.signed import UINT64_MAX, UINT256_MAX, SignedOrder

INT64_MAX = 2**63 - 1
"""Amounts and prices are kept as SQL BIGINT; anything larger is refused (no real order comes close)."""

SIGNATURE_LENGTH = 65
HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
"""secp256k1's n / 2: OpenZeppelin's ECDSA refuses a larger ``s`` (signature malleability, EIP-2)."""


class InvalidSignatureError(ValidationError):
    """The signature does not recover to the order's trader."""

    code = "order_signature_invalid"


class OrderExpiredError(ValidationError):
    """The order's expiry is not in the future."""

    code = "order_expired"


class OrderNonceStaleError(ConflictError):
    """The order's nonce is not the trader's current contract nonce (cancelled by a nonce bump)."""

    code = "order_nonce_stale"


class OrderCancelledOnChainError(ConflictError):
    """The trader cancelled this order on the contract, or it already has fills there."""

    code = "order_cancelled_on_chain"


class NotAllowlistedError(MSCError):
    """The order is above the size limit and the trader is not allowlisted."""

    code = "market_not_allowlisted"
    status_code = 403


class DailySizeLimitError(NotAllowlistedError):
    """The trader is not allowlisted and the order would take its tonnes of the day above the limit."""

    code = "market_daily_size_limit"


class InsufficientFundsError(ConflictError):
    """The trader lacks the MSC (or its allowance) or the credits (or the operator approval) for the order."""

    code = "insufficient_funds"


@dataclass(frozen=True, slots=True)
class Commitments:
    """What a trader already owes the market: MSC sen for resting buys and pending buy fills, tonnes
    of the order's token for resting sells and pending sell fills, and ``open_tonnes``: the tonnes
    of every token in all its resting orders and pending fills, both sides, which the daily size
    limit counts (each may fill today)."""

    msc: int = 0
    tonnes: int = 0
    open_tonnes: int = 0


class OrderAcceptance:
    """Checks signed orders against one deployed ``CarbonMarket`` (see the module docstring)."""

    def __init__(
        self,
        market: Contract,
        msc: Contract,
        credits: Contract,
        chain_id: int,
        clock_s: Callable[[], int],
    ) -> None:
        self._market = market
        self._msc = msc
        self._credits = credits
        self._domain = eip712.market_domain(chain_id, market.address)
        self._clock_s = clock_s

    @property
    def market_address(self) -> str:
        """The market contract's address."""
        return str(self._market.address)

    def check_terms(self, order: SignedOrder) -> None:
        """The checks that need no chain: ranges, expiry and the signature.

        Raises:
            ValidationError: a value out of the contract's range.
            OrderExpiredError: expiry not after now.
            InvalidSignatureError: the signature is malformed or another key signed.
        """
        for name, value, top in (
            ("token_id", order.token_id, UINT256_MAX),
            ("amount", order.amount, INT64_MAX),
            ("price", order.price, INT64_MAX),
            ("expiry", order.expiry, UINT64_MAX),
            ("salt", order.salt, UINT256_MAX),
            ("nonce", order.nonce, UINT256_MAX),
        ):
            if type(value) is not int or value < 0 or value > top:
                raise ValidationError(
                    f"order {name} must be an integer in 0..{top}, got {value!r}", field=name
                )
        now = self._clock_s()
        if order.expiry <= now:
            raise OrderExpiredError(
                f"the order expired at {order.expiry} (unix s); it is now {now}", expiry=order.expiry, now=now
            )
        raw = order.signature_bytes
        if len(raw) != SIGNATURE_LENGTH or raw[64] not in (27, 28) or int.from_bytes(raw[32:64]) > HALF_ORDER:
            # The contract's ECDSA.tryRecover refuses these forms; accepting them would only fail later.
            raise InvalidSignatureError(
                "the signature must be 65 bytes r || s || v with v 27 or 28 and a low s (EIP-2)"
            )
        typed = eip712.order(self._domain, order.as_tuple())
        try:
            signer = Account.recover_message(
                encode_typed_data(full_message=typed), signature=order.signature_bytes
            )
        except Exception as exc:  # malformed bytes, bad v/s: eth_account raises several types
            raise InvalidSignatureError(
                f"the signature is not a valid 65-byte ECDSA signature: {exc}"
            ) from exc
        trader = Web3.to_checksum_address(order.trader)
        if signer != trader:
            raise InvalidSignatureError(
                f"the order is signed by {signer}, not by its trader {trader}", signer=signer, trader=trader
            )

    def _check_size(self, trader: str, amount: int, open_tonnes: int) -> None:
        """The contract's size limit, per order and per account and UTC day (module docstring).

        Raises:
            NotAllowlistedError: the order alone is above the limit.
            DailySizeLimitError: today's on-chain tonnes + open tonnes + ``amount`` exceed it.
        """
        market = self._market.functions
        _fee, _recipient, size_limit = market.terms().call()
        if market.isAllowlisted(trader).call():
            return
        if amount > size_limit:
            raise NotAllowlistedError(
                f"{trader} is not allowlisted to trade {amount} t: above {size_limit} t only "
                "allowlisted (verified) accounts trade",
                trader=trader,
                amount=amount,
                size_limit=size_limit,
            )
        traded = int(market.tradedToday(trader).call())
        if traded + open_tonnes + amount > size_limit:
            raise DailySizeLimitError(
                f"{trader} is not allowlisted: {traded} t traded today + {open_tonnes} t in open orders "
                f"and pending fills + {amount} t ordered exceeds the daily limit of {size_limit} t",
                trader=trader,
                traded=traded,
                open=open_tonnes,
                amount=amount,
                size_limit=size_limit,
            )

    def check_chain(self, order: SignedOrder, committed: Commitments) -> None:
        """The checks against the contract's state (see the module docstring).

        Raises:
            OrderNonceStaleError, OrderCancelledOnChainError, NotAllowlistedError (DailySizeLimitError),
            InsufficientFundsError.
        """
        trader = Web3.to_checksum_address(order.trader)
        market = self._market.functions
        order_hash = bytes.fromhex(order.order_hash[2:])
        current = market.nonceOf(trader).call()
        if order.nonce != current:
            raise OrderNonceStaleError(
                f"the order's nonce {order.nonce} is not {trader}'s current nonce {current}",
                nonce=order.nonce,
                current=current,
            )
        if market.cancelled(order_hash).call() or market.filled(order_hash).call():
            raise OrderCancelledOnChainError(
                f"order {order.order_hash} is cancelled or already filled on the contract",
                order_id=order.order_hash,
            )
        self._check_size(trader, order.amount, committed.open_tonnes)
        if order.side is Side.BUY:
            needed = committed.msc + order.amount * order.price
            balance = self._msc.functions.balanceOf(trader).call()
            allowance = self._msc.functions.allowance(trader, self._market.address).call()
            if balance < needed or allowance < needed:
                raise InsufficientFundsError(
                    f"{trader} needs {needed} sen of MSC for this buy and its open commitments "
                    f"({committed.msc} sen); it holds {balance} sen and approved the market for "
                    f"{allowance} sen",
                    needed=needed,
                    balance=balance,
                    allowance=allowance,
                )
        else:
            needed = committed.tonnes + order.amount
            balance = self._credits.functions.balanceOf(trader, order.token_id).call()
            approved = self._credits.functions.isApprovedForAll(trader, self._market.address).call()
            if balance < needed or not approved:
                raise InsufficientFundsError(
                    f"{trader} needs {needed} t of token {order.token_id} for this sell and its open "
                    f"commitments ({committed.tonnes} t); it holds {balance} t"
                    + ("" if approved else " and has not approved the market as operator"),
                    needed=needed,
                    balance=balance,
                    approved=approved,
                )

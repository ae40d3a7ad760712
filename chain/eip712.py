"""EIP-712 typed data for the platform's signed operations: MSC's EIP-2612 permits and EIP-3009
authorizations, carbon retirements and orders, and merchants' escrow refund authorizations.

The same structures a wallet shows its user before signing. The platform uses them to relay
gasless payments and to tell wallets what to sign; the tests use them to sign as a wallet would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_AUTHORIZATION_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain (the contract's name and version, the chain and the contract)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        """The domain as EIP-712 JSON."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": Web3.to_checksum_address(self.verifying_contract),
        }


def msc_domain(chain_id: int, token_address: str) -> Domain:
    """MSC's domain, as its constructor sets it (``EIP712("Madiun Stable Coin", "1")``)."""
    return Domain("Madiun Stable Coin", "1", chain_id, token_address)


def permit(domain: Domain, owner: str, spender: str, value: int, nonce: int, deadline: int) -> dict[str, Any]:
    """EIP-2612 ``Permit`` typed data."""
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": domain.as_dict(),
        "message": {
            "owner": Web3.to_checksum_address(owner),
            "spender": Web3.to_checksum_address(spender),
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def authorization(
    domain: Domain,
    primary_type: str,
    sender: str,
    receiver: str,
    value: int,
    valid_after: int,
    valid_before: int,
    nonce: bytes,
) -> dict[str, Any]:
    """EIP-3009 ``TransferWithAuthorization`` or ``ReceiveWithAuthorization`` typed data."""
    if primary_type not in ("TransferWithAuthorization", "ReceiveWithAuthorization"):
        raise ValueError(f"not an EIP-3009 authorization type: {primary_type}")
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, primary_type: _AUTHORIZATION_FIELDS},
        "primaryType": primary_type,
        "domain": domain.as_dict(),
        "message": {
            "from": Web3.to_checksum_address(sender),
            "to": Web3.to_checksum_address(receiver),
            "value": value,
            "validAfter": valid_after,
            "validBefore": valid_before,
            "nonce": nonce,
        },
    }


def cancel_authorization(domain: Domain, authorizer: str, nonce: bytes) -> dict[str, Any]:
    """EIP-3009 ``CancelAuthorization`` typed data."""
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "CancelAuthorization": [
                {"name": "authorizer", "type": "address"},
                {"name": "nonce", "type": "bytes32"},
            ],
        },
        "primaryType": "CancelAuthorization",
        "domain": domain.as_dict(),
        "message": {"authorizer": Web3.to_checksum_address(authorizer), "nonce": nonce},
    }


def as_json(typed_data: dict[str, Any]) -> dict[str, Any]:
    """``typed_data`` with its ``bytes`` message values as 0x-hex, as a browser wallet's
    ``eth_signTypedData_v4`` (and any JSON client) takes it."""
    message = {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in typed_data["message"].items()}
    return {**typed_data, "message": message}


def split_signature(signature: bytes) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of a 65-byte ``r || s || v`` signature."""
    if len(signature) != 65:
        raise ValueError(f"a signature is 65 bytes, got {len(signature)}")
    return signature[64], signature[:32], signature[32:64]


_RETIREMENT_FIELDS = [
    {"name": "holder", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "tonnes", "type": "uint64"},
    {"name": "beneficiary", "type": "address"},
    {"name": "beneficiaryName", "type": "string"},
    {"name": "reason", "type": "string"},
    {"name": "periodStart", "type": "uint40"},
    {"name": "periodEnd", "type": "uint40"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_ORDER_FIELDS = [
    {"name": "trader", "type": "address"},
    {"name": "side", "type": "uint8"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "amount", "type": "uint64"},
    {"name": "price", "type": "uint256"},
    {"name": "expiry", "type": "uint64"},
    {"name": "salt", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
]


def carbon_domain(chain_id: int, credits_address: str) -> Domain:
    """CarbonCredits' domain (``EIP712("MSC Carbon Credits", "1")``)."""
    return Domain("MSC Carbon Credits", "1", chain_id, credits_address)


def market_domain(chain_id: int, market_address: str) -> Domain:
    """CarbonMarket's domain (``EIP712("MSC Carbon Market", "1")``)."""
    return Domain("MSC Carbon Market", "1", chain_id, market_address)


def retirement(domain: Domain, r: tuple[Any, ...], nonce: int, deadline: int) -> dict[str, Any]:
    """A signed retirement (``retireWithSig``) for the contract's ``Retirement`` tuple ``r``:
    (holder, tokenId, tonnes, beneficiary, beneficiaryName, reason, periodStart, periodEnd)."""
    names = [f["name"] for f in _RETIREMENT_FIELDS]
    message = dict(zip(names, (*r, nonce, deadline), strict=True))
    message["holder"] = Web3.to_checksum_address(message["holder"])
    message["beneficiary"] = Web3.to_checksum_address(message["beneficiary"])
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, "Retirement": _RETIREMENT_FIELDS},
        "primaryType": "Retirement",
        "domain": domain.as_dict(),
        "message": message,
    }


def order(domain: Domain, o: tuple[Any, ...]) -> dict[str, Any]:
    """A market order for the contract's ``Order`` tuple ``o``:
    (trader, side, tokenId, amount, price, expiry, salt, nonce); side 0 buys, 1 sells."""
    message = dict(zip([f["name"] for f in _ORDER_FIELDS], o, strict=True))
    message["trader"] = Web3.to_checksum_address(message["trader"])
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, "Order": _ORDER_FIELDS},
        "primaryType": "Order",
        "domain": domain.as_dict(),
        "message": message,
    }


_REFUND_AUTHORIZATION_FIELDS = [
    {"name": "paymentId", "type": "bytes32"},
    {"name": "amount", "type": "uint96"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "validBefore", "type": "uint256"},
]
REFUND_AUTHORIZATION = "RefundAuthorization"


def escrow_domain(chain_id: int, escrow_address: str) -> Domain:
    """MerchantEscrow's domain (``EIP712("MerchantEscrow", "1")``)."""
    return Domain("MerchantEscrow", "1", chain_id, escrow_address)


def refund_authorization(
    domain: Domain, payment_id: bytes, amount: int, nonce: bytes, valid_before: int
) -> dict[str, Any]:
    """A merchant's signed refund (``refundWithAuthorization``) of ``amount`` of the escrowed
    payment ``payment_id`` (its ``bytes32`` escrow key) back to the payer, usable once (``nonce``,
    single-use per merchant) until ``valid_before`` (exclusive, Unix seconds)."""
    if len(payment_id) != 32 or len(nonce) != 32:
        raise ValueError("a payment id and a nonce are 32 bytes each")
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, REFUND_AUTHORIZATION: _REFUND_AUTHORIZATION_FIELDS},
        "primaryType": REFUND_AUTHORIZATION,
        "domain": domain.as_dict(),
        "message": {
            "paymentId": payment_id,
            "amount": amount,
            "nonce": nonce,
            "validBefore": valid_before,
        },
    }

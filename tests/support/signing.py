"""Signing MSC permits and authorizations as a wallet would (eth_account, EIP-712)."""

from __future__ import annotations

from chain import eip712
from chain.signer import Signer


def domain_of(token: object, chain_id: int = 31337) -> eip712.Domain:
    """MSC's EIP-712 domain for a deployed token."""
    return eip712.msc_domain(chain_id, str(token.address))  # type: ignore[attr-defined]


def sign_permit(
    token: object, owner: Signer, spender: str, value: int, nonce: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of ``owner``'s permit for ``spender``."""
    data = eip712.permit(domain_of(token), owner.address, str(spender), value, nonce, deadline)
    return eip712.split_signature(owner.sign_typed_data(data).signature)


def sign_authorization(
    token: object,
    primary_type: str,
    sender: Signer,
    receiver: str,
    value: int,
    valid_after: int,
    valid_before: int,
    nonce: bytes,
) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of an EIP-3009 authorization signed by ``sender``."""
    data = eip712.authorization(
        domain_of(token), primary_type, sender.address, str(receiver), value, valid_after, valid_before, nonce
    )
    return eip712.split_signature(sender.sign_typed_data(data).signature)


def sign_cancel(token: object, authorizer: Signer, nonce: bytes) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of an EIP-3009 cancellation."""
    data = eip712.cancel_authorization(domain_of(token), authorizer.address, nonce)
    return eip712.split_signature(authorizer.sign_typed_data(data).signature)

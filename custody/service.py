"""Custodial wallets of merchants: open one, rotate it, and sign the merchant's EIP-3009 moves.

The service signs only what a merchant's custodial wallet is for: an EIP-3009
``ReceiveWithAuthorization`` that pays the platform's redeemer (a redemption, checked afterwards by
:class:`settlement.redemption.service.RedemptionService` exactly like a wallet's signature), and a
``TransferWithAuthorization`` that moves the MSC to an address the owner chose (leaving custody:
the MSC moves, the key never does). Anything else (another primary type, another token, a
sender that is not one of the merchant's keys) is refused before a key is opened. It also signs
the merchant's escrow ``RefundAuthorization`` (a refund of a held payment back to its payer, relayed
by the platform: the MSC goes back where it came from, never elsewhere). The portal
calls it only after the owner passed :func:`accounts.service.AccountService.require_second_factor`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from web3 import Web3

from chain.eip712 import REFUND_AUTHORIZATION, escrow_domain, msc_domain, refund_authorization
from custody.errors import CustodyKeyNotFoundError, CustodySigningRefusedError
from custody.keystore import KeyManager, KeyRef
from settlement.redemption.service import Authorization

RECEIVE = "ReceiveWithAuthorization"
TRANSFER = "TransferWithAuthorization"
_UINT96_MAX = 2**96 - 1


@dataclass(frozen=True)
class EscrowRefundSignature:
    """A custodial key's signature of a ``RefundAuthorization`` (``r || s || v``) and its address."""

    signer: str
    signature: bytes


class CustodyService:
    """Merchants' platform-managed wallets, over any :class:`KeyManager`.

    Args:
        keys: Where keys live (envelope encryption in SQL, or a KMS / HSM).
        chain_id: The chain MSC is deployed on (signatures are bound to it by EIP-712).
        token_address: MSC's address (the EIP-712 verifying contract).
        escrow_address: MerchantEscrow's address (None: escrow refunds are not signed).
    """

    def __init__(
        self, keys: KeyManager, *, chain_id: int, token_address: str, escrow_address: str | None = None
    ) -> None:
        self.keys = keys
        self.domain = msc_domain(chain_id, token_address).as_dict()
        self._escrow = escrow_domain(chain_id, escrow_address) if escrow_address is not None else None

    def open_wallet(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """Creates the merchant's custodial wallet (its address is public; the key stays here)."""
        return self.keys.create_key(session, merchant_id)

    def wallet(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """The merchant's current custodial wallet."""
        return self.keys.current_key(session, merchant_id)

    def rotate(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """A new wallet for the merchant; move the MSC from the old one with :meth:`sign_transfer_out`."""
        return self.keys.rotate(session, merchant_id)

    def sign_redemption(
        self, session: Session, merchant_id: uuid.UUID, typed_data: dict[str, Any], redeemer: str
    ) -> Authorization:
        """Signs the redemption ``typed_data`` (from ``RedemptionService.typed_data``) for the merchant.

        Returns:
            The authorization to put in a ``RedemptionRequest``.

        Raises:
            CustodySigningRefusedError: it is not a ``ReceiveWithAuthorization`` of MSC from one of
                the merchant's custodial addresses to ``redeemer``.
        """
        return self._sign(session, merchant_id, typed_data, RECEIVE, redeemer)

    def sign_transfer_out(
        self, session: Session, merchant_id: uuid.UUID, typed_data: dict[str, Any], destination: str
    ) -> Authorization:
        """Signs a ``TransferWithAuthorization`` moving MSC from a custodial address to ``destination``
        (the owner's own wallet, or the merchant's new custodial address after a rotation)."""
        return self._sign(session, merchant_id, typed_data, TRANSFER, destination)

    def sign_escrow_refund(
        self,
        session: Session,
        merchant_id: uuid.UUID,
        typed_data: dict[str, Any],
        *,
        signer: str | None = None,
    ) -> EscrowRefundSignature:
        """Signs the escrow ``RefundAuthorization`` ``typed_data`` with the merchant's custodial key.

        The message names no signer (the escrow checks the payment's merchant), so the key is the
        one at ``signer`` (the payment's escrow merchant, which may be a key retired since), else
        the merchant's current key. What is signed is rebuilt from the checked message, so no
        field the escrow does not read can ride along.

        Raises:
            CustodySigningRefusedError: it is not a ``RefundAuthorization`` of this escrow on this
                chain, or ``signer`` is not a custodial address of the merchant.
        """
        current = self.keys.current_key(session, merchant_id)
        canonical, refusal = self._refund_refusal(typed_data)
        address = Web3.to_checksum_address(signer) if signer is not None else current.address
        key = next((k for k in self.keys.keys_of(session, merchant_id) if k.address == address), None)
        if refusal is None and key is None:
            refusal = f"{address} is not a custodial address of merchant {merchant_id}"
        if refusal is not None or canonical is None or key is None:
            raise CustodySigningRefusedError(current.key_id, refusal or "not a refund authorization")
        return EscrowRefundSignature(key.address, self.keys.sign_typed_data(session, key.key_id, canonical))

    def _refund_refusal(self, typed_data: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The canonical ``RefundAuthorization`` ``typed_data`` stands for, or why it is refused."""
        if self._escrow is None:
            return None, "no escrow is configured for refund signing"
        if typed_data.get("primaryType") != REFUND_AUTHORIZATION:
            return None, f"it is a {typed_data.get('primaryType')!r}, not a {REFUND_AUTHORIZATION}"
        if typed_data.get("domain") != self._escrow.as_dict():
            return None, "its EIP-712 domain is not the merchant escrow's on this chain"
        message = typed_data.get("message")
        if not isinstance(message, dict) or set(message) != {"paymentId", "amount", "nonce", "validBefore"}:
            return None, "its message is not a refund authorization"
        try:
            payment_id, nonce = _bytes32(message["paymentId"]), _bytes32(message["nonce"])
            amount, valid_before = int(message["amount"]), int(message["validBefore"])
        except (TypeError, ValueError):
            return None, "its fields are not a payment id, an amount, a nonce and a deadline"
        if not 0 < amount <= _UINT96_MAX or valid_before <= 0:
            return None, f"its amount {amount} or deadline {valid_before} is out of range"
        canonical = refund_authorization(self._escrow, payment_id, amount, nonce, valid_before)
        if typed_data.get("types") != canonical["types"]:
            return None, "its types are not the escrow's RefundAuthorization"
        return canonical, None

    def _sign(
        self, session: Session, merchant_id: uuid.UUID, typed_data: dict[str, Any], primary_type: str, to: str
    ) -> Authorization:
        key = self._signing_key(session, merchant_id, typed_data, primary_type, to)
        message = typed_data["message"]
        signature = self.keys.sign_typed_data(session, key.key_id, typed_data)
        nonce = message["nonce"]
        return Authorization(
            sender=key.address,
            value=int(message["value"]),
            valid_after=int(message["validAfter"]),
            valid_before=int(message["validBefore"]),
            nonce=bytes.fromhex(nonce[2:]) if isinstance(nonce, str) else bytes(nonce),
            signature=signature,
        )

    def _signing_key(
        self, session: Session, merchant_id: uuid.UUID, typed_data: dict[str, Any], primary_type: str, to: str
    ) -> KeyRef:
        """The merchant's key that ``typed_data`` is from, once everything in it is what we sign."""
        refusal = self._refusal(typed_data, primary_type, to)
        sender = Web3.to_checksum_address(str(typed_data.get("message", {}).get("from", "0x" + "0" * 40)))
        current = self.keys.current_key(session, merchant_id)
        key = next((k for k in self.keys.keys_of(session, merchant_id) if k.address == sender), None)
        if refusal is None and key is None:
            refusal = f"its sender {sender} is not a custodial address of merchant {merchant_id}"
        if refusal is not None:
            raise CustodySigningRefusedError(current.key_id, refusal)
        if key is None:  # pragma: no cover - refusal above covers it; kept for the type checker
            raise CustodyKeyNotFoundError(f"at {sender}")
        return key

    def _refusal(self, typed_data: dict[str, Any], primary_type: str, to: str) -> str | None:
        """Why ``typed_data`` is not a ``primary_type`` of MSC to ``to``, or None."""
        if typed_data.get("primaryType") != primary_type:
            return f"it is a {typed_data.get('primaryType')!r}, not a {primary_type}"
        if typed_data.get("domain") != self.domain:
            return "its EIP-712 domain is not MSC's on this chain"
        message = typed_data.get("message")
        if not isinstance(message, dict) or not {"from", "to", "value", "nonce"} <= message.keys():
            return "its message is not an EIP-3009 authorization"
        try:
            receiver = Web3.to_checksum_address(str(message["to"]))
        except ValueError:
            return "its receiver is not an address"
        if receiver != Web3.to_checksum_address(to):
            return f"it pays {receiver}, not {Web3.to_checksum_address(to)}"
        return None


def _bytes32(value: object) -> bytes:
    """32 bytes from ``bytes`` or 0x-hex (typed data from JSON carries hex)."""
    if isinstance(value, str):
        raw = bytes.fromhex(value.removeprefix("0x"))
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        raise TypeError("not bytes or hex")
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return raw

"""The on-chain key of a payment in the merchant escrow.

Everyone who talks to ``MerchantEscrow`` about a settlement payment (the minter, the releaser,
refunds, the explorer) derives the ``bytes32`` id here, so the same payment can never be keyed
two ways. The id is the payment's UUID as a 256-bit big-endian number (16 zero bytes, then the
UUID's 16 bytes): it is unique because the UUID is, and it reads back to the payment without a
lookup table.
"""

from __future__ import annotations

import uuid

from common.errors import ValidationError

_PAD = bytes(16)


def escrow_payment_id(payment_id: uuid.UUID) -> bytes:
    """The ``bytes32`` escrow key of ``payment_id``."""
    return _PAD + payment_id.bytes


def payment_id_from_escrow_id(escrow_id: bytes) -> uuid.UUID:
    """The payment a ``bytes32`` escrow key was derived from.

    Raises:
        ValidationError: the key was not made by :func:`escrow_payment_id`.
    """
    if len(escrow_id) != 32 or escrow_id[:16] != _PAD:
        raise ValidationError(f"0x{escrow_id.hex()} is not a settlement payment's escrow id")
    return uuid.UUID(bytes=escrow_id[16:])

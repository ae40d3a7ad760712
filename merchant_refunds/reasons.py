"""The merchant's reason for a refund, as clean text: what the customer, the operator and the
monthly statement will read, so no markup tricks, control characters or invisible text."""

from __future__ import annotations

import unicodedata

from merchant_refunds.errors import RefundReasonError

MIN_LENGTH = 3
MAX_LENGTH = 500


def clean_reason(raw: str | None) -> str:
    """``raw`` normalised (NFC, whitespace runs collapsed to one space, trimmed).

    Raises:
        RefundReasonError: it is missing, shorter than ``MIN_LENGTH`` or longer than
            ``MAX_LENGTH`` characters, or holds control or format characters (other than
            whitespace, which is collapsed).
    """
    text = " ".join(unicodedata.normalize("NFC", raw or "").split())
    if len(text) < MIN_LENGTH:
        raise RefundReasonError(f"is required ({MIN_LENGTH} characters at least)")
    if len(text) > MAX_LENGTH:
        raise RefundReasonError(f"is longer than {MAX_LENGTH} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text):
        raise RefundReasonError("holds control or invisible characters")
    return text

"""MSC-Signature: HMAC-SHA256 of ``t.body``, several v1 for rotation; verify_signature refuses the rest."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from settlement.webhooks.signing import WebhookSignatureError, parse_header, sign, verify_signature

BODY = b'{"data":{"amount_idr_minor":1500000},"id":"evt_1","type":"payment.completed"}'
T = 1_790_000_000


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(BODY, ["whsec_a"], T)
    expected = hmac.new(b"whsec_a", f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    assert verify_signature(BODY, header, "whsec_a", now=T + 10) == T


def test_rotation_header_is_verified_by_either_secret_and_not_by_a_third() -> None:
    header = sign(BODY, ["whsec_new", "whsec_old"], T)
    assert len(parse_header(header)[1]) == 2
    assert verify_signature(BODY, header, "whsec_new", now=T) == T
    assert verify_signature(BODY, header, "whsec_old", now=T) == T
    with pytest.raises(WebhookSignatureError, match="no signature matches"):
        verify_signature(BODY, header, "whsec_other", now=T)


def test_a_tampered_body_is_rejected() -> None:
    header = sign(BODY, ["whsec_a"], T)
    tampered = BODY.replace(b"1500000", b"9500000")
    with pytest.raises(WebhookSignatureError, match="no signature matches"):
        verify_signature(tampered, header, "whsec_a", now=T)


def test_a_changed_timestamp_is_rejected() -> None:
    header = sign(BODY, ["whsec_a"], T).replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(WebhookSignatureError, match="no signature matches"):
        verify_signature(BODY, header, "whsec_a", now=T)


@pytest.mark.parametrize("offset", [301, -301, 10_000])
def test_a_timestamp_outside_the_tolerance_is_rejected(offset: int) -> None:
    header = sign(BODY, ["whsec_a"], T)
    with pytest.raises(WebhookSignatureError, match="tolerance") as info:
        verify_signature(BODY, header, "whsec_a", tolerance_s=300, now=T + offset)
    assert info.value.details["age_s"] == offset


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", f"t={T}", f"t=soon,v1={'0' * 64}", "garbage", f"t={T},v0={'0' * 64}"],
)
def test_a_malformed_header_is_rejected(header: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(BODY, header, "whsec_a", now=T)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        sign(BODY, [], T)

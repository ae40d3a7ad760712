"""The verification rules one at a time: each mismatch is named, a matching transfer passes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from settlement.flow.checks import ExpectedTransfer, pi_payment_mismatch, transaction_mismatch
from settlement.flow.errors import InvalidTxidError
from settlement.flow.pi_flow import normalise_txid
from settlement.pi.horizon import PiOperation, PiTransaction
from settlement.pi.platform_client import PiPayment

APP, USER, OTHER = "GAPP", "GUSER", "GOTHER"
EXPECTED = ExpectedTransfer(
    memo="pay-1",
    from_address=USER,
    to_address=APP,
    amount=100_000_001,
    deadline=datetime(2026, 1, 1, 12, tzinfo=UTC),
)
TX = PiTransaction(
    hash="ab" * 32,
    ledger=7,
    successful=True,
    source_account=USER,
    sequence=1,
    fee_charged=100,
    memo_type="text",
    memo="pay-1",
    created_at="2026-01-01T11:59:59Z",
    paging_token="1",
    envelope_xdr="",
)
OP = PiOperation(
    id="1",
    paging_token="1",
    type="payment",
    source_account=USER,
    transaction_hash=TX.hash,
    created_at=TX.created_at,
    successful=True,
    from_address=USER,
    to_address=APP,
    amount=100_000_001,
    asset_type="native",
)


def test_matching_transfer_passes() -> None:
    assert transaction_mismatch(TX, [OP], EXPECTED) is None
    assert transaction_mismatch(replace(TX, created_at="2026-01-01T12:00:00Z"), [OP], EXPECTED) is None


@pytest.mark.parametrize(
    ("tx", "ops", "reason"),
    [
        (replace(TX, successful=False), [OP], "failed on the ledger"),
        (replace(TX, memo="pay-2"), [OP], "memo 'pay-2' is not the payment identifier"),
        (replace(TX, memo_type="id", memo="1"), [OP], "is not the payment identifier"),
        (TX, [OP, OP], "has 2 operations"),
        (TX, [], "has 0 operations"),
        (TX, [replace(OP, asset_type="credit_alphanum4")], "not a native payment"),
        (TX, [replace(OP, type="create_account")], "not a native payment"),
        (TX, [replace(OP, to_address=OTHER)], f"pays {OTHER}, not the platform's account"),
        (TX, [replace(OP, from_address=OTHER)], f"paid from {OTHER}, not the payment's {USER}"),
        (TX, [replace(OP, amount=100_000_000)], "amount 10.0000000 Pi is not the quoted 10.0000001 Pi"),
        (replace(TX, created_at="2026-01-01T12:00:01Z"), [OP], "after the payment's deadline"),
    ],
)
def test_each_mismatch_is_refused_with_its_reason(
    tx: PiTransaction, ops: list[PiOperation], reason: str
) -> None:
    found = transaction_mismatch(tx, ops, EXPECTED)
    assert found is not None and reason in found


def _pi(**changes: object) -> PiPayment:
    data: dict[str, object] = {
        "identifier": "pay-1",
        "user_uid": "u",
        "amount": "10.0000001",
        "memo": "m",
        "metadata": {},
        "from_address": USER,
        "to_address": APP,
        "direction": "user_to_app",
        "created_at": "2026-01-01T11:00:00.000Z",
        "network": "Pi Testnet",
        "status": {
            "developer_approved": False,
            "transaction_verified": False,
            "developer_completed": False,
            "cancelled": False,
            "user_cancelled": False,
        },
        "transaction": None,
    }
    data.update(changes)
    return PiPayment.model_validate(data)


@pytest.mark.parametrize(
    ("pi", "reason"),
    [
        (_pi(), None),
        (_pi(identifier="pay-2"), "not pay-1"),
        (_pi(direction="app_to_user"), "not user_to_app"),
        (_pi(amount="10.0000002"), "differs from the quote's 10.0000001 Pi"),
        (_pi(to_address=OTHER), "not the platform's account"),
    ],
)
def test_pi_payment_must_match_the_quote(pi: PiPayment, reason: str | None) -> None:
    found = pi_payment_mismatch(pi, pi_payment_id="pay-1", amount=100_000_001, app_address=APP)
    assert found == reason or (reason is not None and found is not None and reason in found)


def test_txids_are_normalised_and_validated() -> None:
    assert normalise_txid(" " + "AB" * 32 + " ") == "ab" * 32
    for bad in ("", "ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(InvalidTxidError):
            normalise_txid(bad)

"""Envelope encryption of custodial keys: create, sign, rotate, re-wrap, and refuse altered rows."""

from __future__ import annotations

import threading
import uuid

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from chain.eip712 import authorization, msc_domain
from common.errors import ValidationError
from custody import repository
from custody.errors import CustodyKeyExistsError, CustodyKeyNotFoundError, CustodyKeyUnavailableError
from custody.keystore import EnvelopeKeyManager
from custody.models import CustodyKey, CustodyKeyStatus
from custody.settings import MasterKeyRing
from tests.custody.conftest import new_merchant, random_master_key

TOKEN = "0x" + "11" * 20


def _typed(sender: str, value: int = 12_000_00) -> dict:
    return authorization(
        msc_domain(31337, TOKEN),
        "ReceiveWithAuthorization",
        sender,
        "0x" + "22" * 20,
        value,
        0,
        2**40,
        b"\x07" * 32,
    )


def test_create_key_gives_an_address_and_stores_no_plaintext(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    assert ref.current and ref.merchant_id == merchant
    with db.sessions() as session:
        row = repository.get(session, ref.key_id)
        assert row is not None
        private_key = keys._open(row)
        assert Account.from_key(private_key).address == ref.address
        assert private_key not in row.encrypted_key and private_key not in row.wrapped_data_key
        assert len(row.encrypted_key) == 12 + 32 + 16 and len(row.wrapped_data_key) == 12 + 32 + 16


def test_a_merchant_has_one_current_key(db, keys, merchant):
    with db.sessions.begin() as session:
        keys.create_key(session, merchant)
    with pytest.raises(CustodyKeyExistsError), db.sessions.begin() as session:
        keys.create_key(session, merchant)


def test_signatures_recover_to_the_keys_address(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
        typed = _typed(ref.address)
        signature = keys.sign_typed_data(session, ref.key_id, typed)
        digest = b"\x42" * 32
        raw = keys.sign_digest(session, ref.key_id, digest, "a transaction")
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == ref.address
    assert Account._recover_hash(digest, signature=raw) == ref.address
    with db.sessions() as session:
        kinds = [h.kind for h in repository.history(session, ref.key_id)]
    assert kinds == ["created", "signed", "signed"]


def test_malformed_requests_are_refused_before_a_key_is_opened(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    with pytest.raises(ValidationError), db.sessions() as session:
        keys.sign_digest(session, ref.key_id, b"short", "x")
    with pytest.raises(ValidationError), db.sessions() as session:
        keys.sign_typed_data(session, ref.key_id, {"primaryType": "Nothing"})
    with pytest.raises(CustodyKeyNotFoundError), db.sessions() as session:
        keys.sign_digest(session, uuid.uuid4(), b"\x00" * 32, "x")


def test_rotation_keeps_the_old_key_retired_and_signable(db, keys, merchant):
    with db.sessions.begin() as session:
        old = keys.create_key(session, merchant)
    with db.sessions.begin() as session:
        new = keys.rotate(session, merchant)
    assert new.address != old.address and new.current
    with db.sessions.begin() as session:
        assert keys.current_key(session, merchant) == new
        listed = keys.keys_of(session, merchant)
        assert [k.key_id for k in listed] == [old.key_id, new.key_id]
        assert not listed[0].current
        retired = repository.get(session, old.key_id)
        assert retired is not None
        assert retired.status == CustodyKeyStatus.RETIRED and retired.current_for is None
        assert retired.retired_at is not None
        typed = _typed(old.address)
        signature = keys.sign_typed_data(session, old.key_id, typed)
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == old.address
    with db.sessions() as session:
        assert [h.kind for h in repository.history(session, old.key_id)][:2] == ["created", "retired"]


def test_rotating_without_a_key_is_refused(db, keys, merchant):
    with pytest.raises(CustodyKeyNotFoundError), db.sessions.begin() as session:
        keys.rotate(session, merchant)


def test_the_database_allows_one_current_key_per_merchant(db, keys, merchant):
    """Even a writer that bypasses the service cannot make a second current key."""
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    other = new_merchant(db)
    with db.sessions.begin() as session:
        second = keys.create_key(session, other)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.sessions.begin() as session:
        session.execute(update(CustodyKey).where(CustodyKey.id == second.key_id).values(current_for=merchant))
    assert ref.current


def _swap(db, column: str, a: uuid.UUID, b: uuid.UUID) -> None:
    with db.sessions.begin() as session:
        row_a = session.get(CustodyKey, a)
        row_b = session.get(CustodyKey, b)
        assert row_a is not None and row_b is not None
        value_a, value_b = getattr(row_a, column), getattr(row_b, column)
        setattr(row_a, column, value_b)
        setattr(row_b, column, value_a)


@pytest.mark.parametrize("column", ["encrypted_key", "wrapped_data_key"])
def test_ciphertexts_swapped_between_rows_do_not_open(db, keys, column):
    first, second = new_merchant(db), new_merchant(db)
    with db.sessions.begin() as session:
        a = keys.create_key(session, first)
        b = keys.create_key(session, second)
    _swap(db, column, a.key_id, b.key_id)
    for ref in (a, b):
        with (
            pytest.raises(CustodyKeyUnavailableError, match="does not authenticate"),
            db.sessions() as session,
        ):
            keys.sign_digest(session, ref.key_id, b"\x01" * 32, "x")


def test_a_row_moved_to_another_merchant_does_not_open(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    thief = new_merchant(db)
    with db.sessions.begin() as session:
        session.execute(
            update(CustodyKey).where(CustodyKey.id == ref.key_id).values(merchant_id=thief, current_for=thief)
        )
    with pytest.raises(CustodyKeyUnavailableError), db.sessions() as session:
        keys.sign_digest(session, ref.key_id, b"\x01" * 32, "x")


def test_a_row_with_another_address_does_not_open(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    with db.sessions.begin() as session:
        session.execute(
            update(CustodyKey).where(CustodyKey.id == ref.key_id).values(address=Account.create().address)
        )
    with pytest.raises(CustodyKeyUnavailableError), db.sessions() as session:
        keys.sign_digest(session, ref.key_id, b"\x01" * 32, "x")


def test_another_master_key_does_not_open_a_key(db, keys, merchant):
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
    stranger = EnvelopeKeyManager(MasterKeyRing.of(random_master_key()))
    with pytest.raises(CustodyKeyUnavailableError, match="not configured"), db.sessions() as session:
        stranger.sign_digest(session, ref.key_id, b"\x01" * 32, "x")
    with db.sessions.begin() as session:  # a forged fingerprint still fails authentication
        row = session.get(CustodyKey, ref.key_id)
        assert row is not None
        row.master_key_id = stranger._master_keys.current_id
    with pytest.raises(CustodyKeyUnavailableError, match="does not authenticate"), db.sessions() as session:
        stranger.sign_digest(session, ref.key_id, b"\x01" * 32, "x")


def test_master_key_rotation_rewraps_every_data_key(db, master_key):
    old_keys = EnvelopeKeyManager(MasterKeyRing.of(master_key))
    merchants = [new_merchant(db) for _ in range(3)]
    with db.sessions.begin() as session:
        refs = [old_keys.create_key(session, m) for m in merchants]
    new_master = random_master_key()
    during = EnvelopeKeyManager(MasterKeyRing.of(new_master, (master_key,)))
    with db.sessions.begin() as session:  # both keys readable during the rotation
        during.sign_digest(session, refs[0].key_id, b"\x02" * 32, "during")
    moved = 0
    while True:
        with db.sessions.begin() as session:
            batch = during.rewrap(session, batch=2)
        moved += batch
        if batch == 0:
            break
    assert moved == len(refs)  # keys under master keys it does not hold are left alone
    with db.sessions() as session:
        assert not {r.key_id for r in refs} & {k.key_id for k in during.unreadable_keys(session)}
    after = EnvelopeKeyManager(MasterKeyRing.of(new_master))
    with db.sessions.begin() as session:
        for ref in refs:
            signature = after.sign_digest(session, ref.key_id, b"\x03" * 32, "after")
            assert Account._recover_hash(b"\x03" * 32, signature=signature) == ref.address
            assert "rewrapped" in [h.kind for h in repository.history(session, ref.key_id)]
    with pytest.raises(CustodyKeyUnavailableError), db.sessions() as session:
        old_keys.sign_digest(session, refs[0].key_id, b"\x04" * 32, "old master")
    with db.sessions() as session:
        rows = session.scalars(select(CustodyKey).where(CustodyKey.id.in_([r.key_id for r in refs]))).all()
        assert {row.master_key_id for row in rows} == {after._master_keys.current_id}


@settings(max_examples=10, deadline=None)
@given(digest=st.binary(min_size=32, max_size=32))
def test_property_any_digest_signed_recovers_to_the_keys_address(db, digest):
    keys = EnvelopeKeyManager(MasterKeyRing.of(b"\x5a" * 16 + b"\xa5" * 16))
    merchant = new_merchant(db)
    with db.sessions.begin() as session:
        ref = keys.create_key(session, merchant)
        signature = keys.sign_digest(session, ref.key_id, digest, "property")
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert Account._recover_hash(digest, signature=signature) == ref.address


def test_concurrent_creations_for_one_merchant_leave_one_key(pg_db, master_key):
    """Two requests opening the same merchant's wallet at once: one key, one clean refusal."""
    keys = EnvelopeKeyManager(MasterKeyRing.of(master_key))
    merchant = new_merchant(pg_db)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def create() -> None:
        try:
            with pg_db.sessions.begin() as session:
                barrier.wait(timeout=10)
                outcomes.append(keys.create_key(session, merchant))
        except Exception as exc:  # the loser's error is the outcome under test
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["CustodyKeyExistsError", "KeyRef"]
    with pg_db.sessions() as session:
        assert len(repository.of_merchant(session, merchant)) == 1

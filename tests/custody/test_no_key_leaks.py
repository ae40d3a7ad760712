"""The custodial key never appears in a log line (any level), an exception or a repr.

Every path is exercised, failures included (altered rows, a wrong master key, refused signing,
malformed input), with logging captured at DEBUG for every logger; then the private key (hex with
and without 0x, either case, and raw), its data key and the master key are searched for in all of it.
"""

from __future__ import annotations

import base64
import logging
import os
import traceback
import uuid

import pytest
from sqlalchemy import update

from chain.eip712 import authorization, msc_domain
from common.errors import MSCError
from custody.keystore import EnvelopeKeyManager, _unseal, _wrap_aad
from custody.models import CustodyKey
from custody.service import CustodyService
from custody.settings import CustodySettings, MasterKeyRing
from tests.custody.conftest import new_merchant

TOKEN = "0x" + "33" * 20
REDEEMER = "0x" + "44" * 20


def _needles(secret: bytes) -> list[str]:
    hexed = secret.hex()
    return [
        hexed,
        hexed.upper(),
        "0x" + hexed,
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        repr(secret),
    ]


def _exception_text(exc: BaseException) -> str:
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args)]
        if isinstance(seen, MSCError):
            parts.append(repr(seen.to_dict()))
        parts.append("".join(traceback.format_exception_only(type(seen), seen)))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def test_no_key_material_in_logs_exceptions_or_reprs(db, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    master = os.urandom(32)
    keys = EnvelopeKeyManager(MasterKeyRing.of(master))
    custody = CustodyService(keys, chain_id=31337, token_address=TOKEN)
    texts: list[str] = []
    merchant, other = new_merchant(db), new_merchant(db)

    def attempt(action) -> None:  # type: ignore[no-untyped-def]
        """Runs ``action(session)`` in a session closed afterwards, keeping the failure's text."""
        try:
            with db.sessions() as session:
                action(session)
        except Exception as exc:  # every failure path's text is collected
            texts.append(_exception_text(exc))
        else:
            texts.append(f"{action} succeeded")

    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant)
        other_wallet = custody.open_wallet(session, other)
        texts += [
            repr(wallet),
            str(wallet),
            repr(keys),
            repr(custody),
            repr(session.get(CustodyKey, wallet.key_id)),
        ]
    domain = msc_domain(31337, TOKEN)
    typed = authorization(
        domain, "ReceiveWithAuthorization", wallet.address, REDEEMER, 5, 0, 2**40, os.urandom(32)
    )
    with db.sessions.begin() as session:
        auth = custody.sign_redemption(session, merchant, typed, REDEEMER)
        texts.append(repr(auth))
    with db.sessions() as session:
        row = session.get(CustodyKey, wallet.key_id)
        assert row is not None
        private_key = keys._open(row)
        data_key = _unseal(
            master, row.wrapped_data_key, _wrap_aad(row.id, row.merchant_id, row.master_key_id)
        )

    failing = [
        lambda s: custody.sign_redemption(s, merchant, {**typed, "primaryType": "Permit"}, REDEEMER),
        lambda s: custody.sign_redemption(s, merchant, typed, "0x" + "55" * 20),
        lambda s: custody.sign_redemption(s, other, typed, REDEEMER),
        lambda s: keys.sign_digest(s, wallet.key_id, b"short", "x"),
        lambda s: keys.sign_typed_data(s, wallet.key_id, {"types": {}, "primaryType": "X"}),
        lambda s: keys.sign_digest(s, uuid.uuid4(), b"\0" * 32, "x"),
        lambda s: EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32))).sign_digest(
            s, wallet.key_id, b"\0" * 32, "x"
        ),
        lambda s: keys.create_key(s, merchant),
        lambda s: CustodySettings.from_env(
            {
                "MSC_API_ENVIRONMENT": "production",
                "MSC_CUSTODY_MASTER_KEY": base64.b64encode(data_key[:16]).decode(),
            }
        ),
        lambda s: CustodySettings.from_env(
            {"MSC_CUSTODY_MASTER_KEY": "x" + base64.b64encode(private_key).decode()}
        ),
    ]
    for action in failing:
        attempt(action)
    with db.sessions.begin() as session:  # altered rows: swapped ciphertexts, moved merchant
        a = session.get(CustodyKey, wallet.key_id)
        b = session.get(CustodyKey, other_wallet.key_id)
        assert a is not None and b is not None
        a.encrypted_key, b.encrypted_key = b.encrypted_key, a.encrypted_key
    attempt(lambda s: keys.sign_digest(s, wallet.key_id, b"\1" * 32, "x"))
    with db.sessions.begin() as session:
        session.execute(
            update(CustodyKey).where(CustodyKey.id == wallet.key_id).values(wrapped_data_key=b"\0" * 60)
        )
    attempt(lambda s: keys.sign_digest(s, wallet.key_id, b"\1" * 32, "x"))
    attempt(lambda s: keys.rotate(s, other))
    attempt(lambda s: keys.rewrap(s))

    haystack = "\n".join(texts) + "\n" + caplog.text + "\n" + "\n".join(repr(r.args) for r in caplog.records)
    assert len(texts) > 15 and "custodial key" in haystack and "created for merchant" in caplog.text
    for secret in (private_key, data_key, master):
        for needle in _needles(secret):
            assert needle not in haystack

"""A refund signed with a custodial key (and refusals around it) leaves the key in no log line
(any level), no answer of the service, no stored row and no exception: the needles of the custody
leak test (hex either case, with and without 0x, base64, repr) are searched for in all of it."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import select

from common.errors import MSCError
from custody.keystore import EnvelopeKeyManager
from custody.models import CustodyKey
from merchant_refunds.models import MerchantRefund, MerchantRefundChange
from tests.custody.test_no_key_leaks import _exception_text, _needles
from tests.merchant_refunds.support import refund_scene
from tests.settlement.minting.support import Chain, Db

ANVIL_PORT = 8828


def test_a_custodial_refund_leaks_no_key(
    sqlite_db: Db, chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = refund_scene(sqlite_db, chain, count=1)
    texts: list[str] = []

    refund = s.service.submit(s.ask(s.ids[0], 3_000))
    texts.append(repr(refund))
    with pytest.raises(MSCError) as too_much:
        s.service.submit(replace(s.ask(s.ids[0], 10**12), reason="Terlalu banyak"))
    texts.append(_exception_text(too_much.value))
    with sqlite_db.sessions() as session, pytest.raises(MSCError) as refused:
        s.custody.sign_escrow_refund(session, s.merchant, {"primaryType": "RefundAuthorization"})
    texts.append(_exception_text(refused.value))
    texts.append(repr(s.sender) + repr(s.service) + repr(s.custody) + repr(s.custody.keys))
    with sqlite_db.sessions() as session:
        texts += [repr(vars(r)) for r in session.scalars(select(MerchantRefund))]
        texts += [c.detail for c in session.scalars(select(MerchantRefundChange))]
        key_row = session.scalars(select(CustodyKey).where(CustodyKey.merchant_id == s.merchant)).one()
        keys = s.custody.keys
        assert isinstance(keys, EnvelopeKeyManager)
        private_key = keys._open(key_row)
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]

    assert refund.state == "confirmed"
    everything = "\n".join(texts)
    assert all(needle not in everything for needle in _needles(private_key))

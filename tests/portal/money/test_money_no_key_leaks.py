"""The custodial key never appears in an exception of the money services or a log line, whatever
fails: refused destinations, wrong codes, too large amounts, malformed forms, a killed relay
(the spirit of tests/custody/test_no_key_leaks.py, over the portal's money paths)."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable

import pytest
from eth_account import Account
from sqlalchemy import select

from accounts.service import AccountService
from common.errors import MSCError
from custody.models import CustodyKey
from custody.service import CustodyService
from merchant_money.redeem import PortalRedemptions, new_submission
from merchant_money.wallet import WalletMoves
from settlement.redemption import rawtx
from tests.api.support import Db
from tests.portal.money.conftest import FUNDS, Shop, code, confirm
from tests.settlement.ledger.support import Clock
from tests.settlement.minting.support import Chain


def _text(exc: BaseException) -> str:
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args)]
        if isinstance(seen, MSCError):
            parts.append(repr(seen.to_dict()))
        parts.append("".join(traceback.format_exception(type(seen), seen, seen.__traceback__)))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def test_no_key_material_in_exceptions_or_logs(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    custody: CustodyService,
    portal_redemptions: PortalRedemptions,
    wallet: WalletMoves,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    m = shop.merchant_id

    def attempt(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # every failure's text is searched below
            texts.append(_text(exc))

    attempt(lambda: portal_redemptions.redeem_custodial(m, new_submission(), FUNDS + 1, lambda: None))
    attempt(lambda: portal_redemptions.redeem_custodial(m, "bad form!", 100, lambda: None))
    attempt(
        lambda: portal_redemptions.redeem_custodial(
            m, new_submission(), 100, confirm(accounts, shop.owner, m, "1")
        )
    )
    attempt(lambda: wallet.export(m, new_submission(), chain.platform.msc.address, None, lambda: None))
    attempt(lambda: wallet.export(m, new_submission(), "0x" + "0" * 40, None, lambda: None))

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process killed before the broadcast")

    monkeypatch.setattr(rawtx, "broadcast", killed)
    attempt(lambda: wallet.export(m, new_submission(), Account.create().address, None, lambda: None))
    monkeypatch.undo()
    attempt(
        lambda: portal_redemptions.redeem_custodial(
            m, new_submission(), 100, confirm(accounts, shop.owner, m, code(shop.owner, clock))
        )
    )
    attempt(lambda: wallet.rotate(m, new_submission(), None, lambda: None))
    assert len(texts) >= 6
    with db.sessions() as session:
        rows = session.scalars(select(CustodyKey).where(CustodyKey.merchant_id == m)).all()
        secrets = [custody.keys._open(row) for row in rows]  # type: ignore[attr-defined]
    assert len(secrets) == 2
    haystack = "\n".join(
        texts + [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    )
    for secret in secrets:
        for needle in (secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(), repr(secret)):
            assert needle not in haystack

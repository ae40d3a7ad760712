"""``python -m merchant_money invite-owner``: the operator's CLI prints the owner's invitation link once;
the stored invitation holds only the token's hash; an unknown merchant or a bad e-mail is refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from accounts.credentials import token_hash
from accounts.models import Invitation
from merchant_money.__main__ import main
from tests.api.support import Db
from tests.support.factories import add_merchant


def test_the_cli_prints_a_link_whose_token_only_the_hash_of_is_stored(
    db: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", db.url)
    merchant_id = add_merchant(db.sessions)
    assert (
        main(["invite-owner", str(merchant_id), "Sri@Example.id", "--base-url", "https://msc.example/"]) == 0
    )
    link = capsys.readouterr().out.strip()
    prefix = "https://msc.example/portal/invite/"
    assert link.startswith(prefix)
    token = link.removeprefix(prefix)
    with db.sessions() as session:
        invitation = session.scalars(select(Invitation).where(Invitation.merchant_id == merchant_id)).one()
    assert (invitation.email, invitation.role, invitation.token_hash) == (
        "sri@example.id",
        "owner",
        token_hash(token),
    )


def test_the_cli_refuses_an_unknown_merchant_a_bad_email_or_no_base(
    db: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", db.url)
    monkeypatch.delenv("MSC_PORTAL_PUBLIC_BASE_URL", raising=False)
    merchant_id = add_merchant(db.sessions)
    assert main(["invite-owner", str(uuid.uuid4()), "x@example.id", "--base-url", "https://m"]) == 2
    assert main(["invite-owner", str(merchant_id), "not-an-email", "--base-url", "https://m"]) == 2
    assert main(["invite-owner", str(merchant_id), "x@example.id"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "no merchant" in out.err and "e-mail" in out.err
    with db.sessions() as session:
        assert session.scalars(select(Invitation).where(Invitation.merchant_id == merchant_id)).all() == []

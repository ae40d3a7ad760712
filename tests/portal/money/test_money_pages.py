"""The Money page over HTTP on both backends and a real anvil: the owner adds a bank account and
redeems with the custodial wallet after its code, the operator marks the payout paid and the page
shows it; a cashier, a missing or wrong code, a form without its CSRF token and a double submit
change nothing (or redeem once); the custodial key is in no response and no log line."""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from api.models import Role
from chain.deployments import deployment_path
from custody.models import CustodyKey
from merchant_money import bank_accounts
from settlement.payouts.models import Payout
from settlement.redemption.service import RedemptionService
from tests.api.support import bearer, staff_key
from tests.portal.money.conftest import FUNDS, counts
from tests.portal.support import Person, Portal, csrf_of
from tests.settlement.minting.support import Chain

AMOUNT_TEXT = "2.500"
AMOUNT = 250_000


@dataclass
class Owner:
    """A custodial shop on the portal and its signed-in owner."""

    merchant_id: uuid.UUID
    address: str
    person: Person
    client: TestClient
    totp: pyotp.TOTP

    @property
    def money(self) -> str:
        return f"/portal/m/{self.merchant_id}/money"


def on_chain(portal: Portal, chain: Chain) -> None:
    """Points the portal's app at the test chain: its deployment file and redemption service."""
    target = deployment_path(portal.harness.deployments_dir, "development")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(chain.deployment_file, target)
    portal.app.state.redemptions = RedemptionService(portal.db.sessions, chain.platform, chain.redeemer)


def custodial_owner(portal: Portal, chain: Chain, *, bank: bool = True) -> Owner:
    """A custodially onboarded shop holding FUNDS, its owner signed in with TOTP and a bank account."""
    on_chain(portal, chain)
    custody = portal.services.custody
    assert custody is not None
    data = MerchantCreate(
        name="Warung Bu Sri", kelurahan="Taman", custody=True, pi_username=f"pi_{uuid.uuid4().hex[:12]}"
    )
    with portal.db.sessions.begin() as session:
        merchant, _ = merchants.create(session, data, keys=custody.keys)
        merchant_id, address = merchant.id, merchant.evm_address
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(address, FUNDS))
    person = portal.onboard_owner(merchant_id)
    client = portal.sign_in(person)
    totp, _ = portal.enrol_totp(client)
    owner = Owner(merchant_id, address, person, client, totp)
    if bank:
        answer = post(
            portal,
            owner,
            "bank-account",
            bank_code="BRI",
            account_number="0123 0100 0456 501",
            holder_name="Sri Wahyuni",
            code=portal.code(totp),
        )
        assert answer.status_code == 303, answer.text
    return owner


def post(portal: Portal, owner: Owner, action: str, client: TestClient | None = None, **fields: str):  # type: ignore[no-untyped-def]
    """Submits the money page's ``action`` form with the page's CSRF token and hidden fields."""
    client = client or owner.client
    page = client.get(owner.money)
    assert page.status_code == 200, page.text
    submission = re.search(r'name="submission" value="([^"]+)"', page.text)
    replaces = re.search(r'name="replaces" value="([^"]*)"', page.text)
    data = {"csrf": csrf_of(page), **fields}
    if action in ("redeem", "export", "rotate", "sweep"):
        data.setdefault("submission", submission.group(1) if submission else "")
    if action == "bank-account":
        data.setdefault("replaces", replaces.group(1) if replaces else "")
    return client.post(f"{owner.money}/{action}", data=data)


def test_the_owner_redeems_and_sees_the_payout_paid(portal: Portal, chain: Chain) -> None:
    owner = custodial_owner(portal, chain)
    page = owner.client.get(owner.money)
    assert page.status_code == 200
    released = re.search(r'id="released-total">([^<]+)<', page.text)
    assert released is not None and released.group(1).replace("\xa0", " ") == "Rp 10.000"
    assert owner.address in page.text and "0123010004565" in page.text
    supply = chain.supply()
    answer = post(portal, owner, "redeem", amount=AMOUNT_TEXT, code=portal.code(owner.totp))
    assert answer.status_code == 303 and answer.headers["location"].endswith("/money?done=redeemed")
    assert (chain.balance(owner.address), chain.supply()) == (FUNDS - AMOUNT, supply - AMOUNT)
    with portal.db.sessions() as session:
        payout = session.scalars(select(Payout).where(Payout.merchant_id == str(owner.merchant_id))).one()
    assert payout.amount == AMOUNT and payout.bank_account.startswith("BRI 012301000456501")
    shown = owner.client.get(answer.headers["location"])
    assert f'data-payout="{payout.id}" data-status="processing"' in shown.text
    operator = staff_key(portal.db, Role.OPERATOR)
    paid = portal.harness.client.post(
        f"/v1/redemptions/{payout.id}/paid", json={"bank_reference": "BRI-TRF-0001"}, headers=bearer(operator)
    )
    assert paid.status_code == 200, paid.text
    shown = owner.client.get(owner.money)
    assert f'data-payout="{payout.id}" data-status="paid"' in shown.text


def test_a_double_submit_redeems_once(portal: Portal, chain: Chain) -> None:
    owner = custodial_owner(portal, chain)
    page = owner.client.get(owner.money)
    form = {
        "csrf": csrf_of(page),
        "submission": re.search(r'name="submission" value="([^"]+)"', page.text).group(1),  # type: ignore[union-attr]
        "amount": AMOUNT_TEXT,
        "code": portal.code(owner.totp),
    }
    first = owner.client.post(f"{owner.money}/redeem", data=form)
    second = owner.client.post(f"{owner.money}/redeem", data=form)  # same form, same (used) code
    assert (first.status_code, second.status_code) == (303, 303)
    assert counts(portal.db, owner.merchant_id)["payouts"] == 1
    assert chain.balance(owner.address) == FUNDS - AMOUNT


def test_no_code_a_wrong_code_or_no_csrf_token_changes_nothing(portal: Portal, chain: Chain) -> None:
    owner = custodial_owner(portal, chain)
    before = (counts(portal.db, owner.merchant_id), chain.balance(owner.address))
    for code in ("", "000000"):
        answer = post(portal, owner, "redeem", amount=AMOUNT_TEXT, code=code)
        assert answer.status_code == 403 and 'id="money-error"' in answer.text
    page = owner.client.get(owner.money)
    submission = re.search(r'name="submission" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    no_token = owner.client.post(
        f"{owner.money}/redeem",
        data={"submission": submission, "amount": AMOUNT_TEXT, "code": portal.code(owner.totp)},
    )
    assert no_token.status_code == 403
    bad_amount = post(portal, owner, "redeem", amount="12,5", code=portal.code(owner.totp))
    assert bad_amount.status_code == 422 and 'id="money-error"' in bad_amount.text
    assert (counts(portal.db, owner.merchant_id), chain.balance(owner.address)) == before


def test_a_cashier_can_neither_see_money_nor_redeem_nor_change_the_bank_account(
    portal: Portal, chain: Chain
) -> None:
    owner = custodial_owner(portal, chain)
    inviter = portal.onboard_owner(owner.merchant_id)  # a second owner, without TOTP, invites the cashier
    cashier = portal.sign_in(portal.add_cashier(inviter))
    token = portal.csrf(cashier, f"/portal/m/{owner.merchant_id}")
    before = (counts(portal.db, owner.merchant_id), chain.balance(owner.address))
    with portal.db.sessions() as session:
        account_before = bank_accounts.require_current(session, owner.merchant_id).id
    assert cashier.get(owner.money).status_code == 403
    for action, fields in (
        ("redeem", {"amount": AMOUNT_TEXT, "submission": uuid.uuid4().hex, "code": "123456"}),
        (
            "bank-account",
            {"bank_code": "BCA", "account_number": "1111111", "holder_name": "Maling", "code": "1"},
        ),
        ("export", {"destination": "0x" + "12" * 20, "submission": uuid.uuid4().hex, "code": "1"}),
        ("rotate", {"submission": uuid.uuid4().hex, "code": "1"}),
    ):
        answer = cashier.post(f"{owner.money}/{action}", data={"csrf": token, **fields})
        assert answer.status_code == 403, action
    assert (counts(portal.db, owner.merchant_id), chain.balance(owner.address)) == before
    with portal.db.sessions() as session:
        assert bank_accounts.require_current(session, owner.merchant_id).id == account_before
    # another shop's owner does not even learn the page exists
    stranger = custodial_owner(portal, chain, bank=False)
    assert stranger.client.get(owner.money).status_code == 404


def test_the_bank_account_change_is_announced_to_the_owner(portal: Portal, chain: Chain) -> None:
    owner = custodial_owner(portal, chain)
    answer = post(
        portal,
        owner,
        "bank-account",
        bank_code="BCA",
        account_number="0987654321",
        holder_name="Sri Wahyuni",
        code=portal.code(owner.totp),
    )
    assert answer.status_code == 303
    page = owner.client.get(owner.money)
    assert "BCA ••••4321" in page.text and "BRI ••••6501" in page.text
    refused = post(
        portal,
        owner,
        "bank-account",
        bank_code="BCA",
        account_number="12",
        holder_name="Sri",
        code=portal.code(owner.totp),
    )
    assert refused.status_code == 422 and 'id="money-error"' in refused.text


def test_the_custodial_key_is_in_no_response_and_no_log_line(
    portal: Portal, chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = custodial_owner(portal, chain)
    texts = [owner.client.get(owner.money).text]
    texts.append(post(portal, owner, "redeem", amount=AMOUNT_TEXT, code=portal.code(owner.totp)).text)
    texts.append(post(portal, owner, "redeem", amount=AMOUNT_TEXT, code="000000").text)
    texts.append(
        post(
            portal, owner, "export", destination=chain.platform.msc.address, code=portal.code(owner.totp)
        ).text
    )
    texts.append(post(portal, owner, "rotate", code=portal.code(owner.totp)).text)
    texts.append(
        post(portal, owner, "export", destination="0x" + "ab" * 20, code=portal.code(owner.totp)).text
    )
    texts.append(owner.client.get(owner.money).text)
    custody = portal.services.custody
    assert custody is not None
    with portal.db.sessions() as session:
        rows = session.scalars(select(CustodyKey).where(CustodyKey.merchant_id == owner.merchant_id)).all()
        secrets = [custody.keys._open(row) for row in rows]  # type: ignore[attr-defined]
    assert len(secrets) == 2  # the rotation made a second key
    haystack = "\n".join(texts + [r.getMessage() for r in caplog.records])
    for secret in secrets:
        for needle in (secret.hex(), secret.hex().upper()):
            assert needle not in haystack


def test_rotation_from_the_page_and_the_sweep_of_a_later_release(portal: Portal, chain: Chain) -> None:
    owner = custodial_owner(portal, chain)
    assert 'id="sweep-form"' not in owner.client.get(owner.money).text
    rotated = post(portal, owner, "rotate", code=portal.code(owner.totp))
    assert rotated.status_code == 303 and rotated.headers["location"].endswith("done=rotated")
    custody = portal.services.custody
    assert custody is not None
    with portal.db.sessions() as session:
        new_address = custody.wallet(session, owner.merchant_id).address
    assert (chain.balance(owner.address), chain.balance(new_address)) == (0, FUNDS)
    page = owner.client.get(owner.money)
    assert f'id="wallet-address">{new_address}<' in page.text
    # a payment escrowed before the rotation is released to the old address later
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(owner.address, 4_200))
    assert 'id="sweep-form"' in owner.client.get(owner.money).text
    swept = post(portal, owner, "sweep")
    assert swept.status_code == 303 and swept.headers["location"].endswith("done=swept")
    assert (chain.balance(owner.address), chain.balance(new_address)) == (0, FUNDS + 4_200)
    assert 'id="sweep-form"' not in owner.client.get(owner.money).text


def test_the_page_still_serves_the_bank_account_and_payouts_while_the_chain_is_unreachable(
    portal: Portal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MSC_RPC_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MSC_DEPLOYMENTS_DIR", str(tmp_path))
    merchant_id = portal.add_merchant()
    client = portal.sign_in(portal.onboard_owner(merchant_id))
    page = client.get(f"/portal/m/{merchant_id}/money")
    assert page.status_code == 200, page.text
    assert 'id="chain-down"' in page.text and 'id="released-total"' not in page.text
    assert 'id="bank-form"' in page.text and 'id="no-payouts"' in page.text

"""The Money page in Debian's Chromium at 360 px: the owner of a custodial shop signs in with its
code, redeems with the platform wallet (entering a fresh code) and sees the payout paid once the
operator marks it; the owner of a shop with its own wallet redeems through an EIP-1193 provider
injected into the page, backed by a real eth_account key (``expose_function``): the wallet signs
the typed data the page built, the platform verifies it on chain."""

from __future__ import annotations

import json
import uuid
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.merchants.models import Merchant
from api.models import Role
from merchant_money import bank_accounts
from settlement.payouts.models import Payout
from tests.api.support import bearer, staff_key
from tests.portal.money.conftest import FUNDS
from tests.portal.money.test_money_pages import AMOUNT, AMOUNT_TEXT, custodial_owner, on_chain
from tests.portal.support import Portal, Served, no_horizontal_scroll
from tests.settlement.minting.support import Chain


def sign_in(page: Page, served: Served, email: str, password: str, code: str, merchant_id: uuid.UUID) -> None:
    page.goto(f"{served.url}/portal/login?next=/portal/m/{merchant_id}/money")
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#code", code)
    page.click("#sign-in")
    page.wait_for_url(f"**/portal/m/{merchant_id}**")
    page.goto(f"{served.url}/portal/m/{merchant_id}/money")


def payout_of(portal: Portal, merchant_id: uuid.UUID) -> Payout:
    with portal.db.sessions() as session:
        return session.scalars(select(Payout).where(Payout.merchant_id == str(merchant_id))).one()


def test_the_owner_redeems_with_the_custodial_wallet_and_sees_the_payout_paid(
    chain: Chain, served: Served, phone: Page
) -> None:
    portal = served.portal
    owner = custodial_owner(portal, chain)
    sign_in(
        phone, served, owner.person.email, owner.person.password, portal.code(owner.totp), owner.merchant_id
    )
    expect(phone.locator("#money-title")).to_have_text("Uang")
    expect(phone.locator("#released-total")).to_have_text("Rp\xa010.000")
    expect(phone.locator("#redeem-account")).to_contain_text("BRI 012301000456501")
    no_horizontal_scroll(phone)
    phone.fill("#redeem-amount", AMOUNT_TEXT)
    phone.fill("#redeem-code", portal.code(owner.totp))
    phone.click("#redeem-submit")
    expect(phone.locator("#money-done")).to_contain_text("Pencairan diterima")
    payout = payout_of(portal, owner.merchant_id)
    row = phone.locator(f'[data-payout="{payout.id}"]')
    expect(row.locator(".payout-status")).to_have_text("Sedang ditransfer")
    assert chain.balance(owner.address) == FUNDS - AMOUNT
    operator = staff_key(portal.db, Role.OPERATOR)
    paid = portal.harness.client.post(
        f"/v1/redemptions/{payout.id}/paid", json={"bank_reference": "BRI-TRF-7"}, headers=bearer(operator)
    )
    assert paid.status_code == 200, paid.text
    phone.reload()
    expect(row.locator(".payout-status")).to_have_text("Dibayarkan ke rekening bank Anda")
    expect(phone.locator("#released-total")).to_have_text("Rp\xa07.500")
    no_horizontal_scroll(phone)


PROVIDER = """
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts" || method === "eth_accounts") { return [ADDRESS]; }
    if (method === "eth_signTypedData_v4") { return await window.mscWalletSign(params[0], params[1]); }
    const error = new Error("method not supported: " + method); error.code = 4200; throw error;
  },
};
"""


def test_an_own_wallet_owner_signs_in_the_browser_and_the_redemption_is_verified(
    chain: Chain, served: Served, phone: Page
) -> None:
    portal = served.portal
    on_chain(portal, chain)
    key = Account.create()
    merchant_id = portal.add_merchant()
    with portal.db.sessions.begin() as session:
        merchant = session.get(Merchant, merchant_id)
        assert merchant is not None
        merchant.evm_address = key.address
        bank_accounts.change(
            session, merchant_id, bank_accounts.clean("BNI", "7654321", "Sri"), None, portal.clock()
        )
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(key.address, FUNDS))
    person = portal.onboard_owner(merchant_id)
    client = portal.sign_in(person)
    totp, _ = portal.enrol_totp(client)
    asked: list[dict[str, Any]] = []

    def wallet_sign(address: str, typed_json: str) -> str:
        """The wallet: signs EIP-712 typed data with its key, only for its own address."""
        assert address.lower() == key.address.lower(), "the page asked another account to sign"
        typed = json.loads(typed_json)
        asked.append(typed)
        return (
            "0x" + bytes(Account.sign_message(encode_typed_data(full_message=typed), key.key).signature).hex()
        )

    phone.expose_function("mscWalletSign", wallet_sign)
    phone.add_init_script(PROVIDER.replace("ADDRESS", json.dumps(key.address)))
    sign_in(phone, served, person.email, person.password, portal.code(totp), merchant_id)
    expect(phone.locator("#wallet")).to_have_count(0)  # no platform wallet for this shop
    expect(phone.locator("#typed-shown")).to_contain_text("ReceiveWithAuthorization", use_inner_text=False)
    phone.fill("#redeem-amount", AMOUNT_TEXT)
    phone.fill("#redeem-code", portal.code(totp))
    phone.click("#redeem-submit")
    expect(phone.locator("#money-done")).to_contain_text("Pencairan diterima")
    [typed] = asked
    assert typed["primaryType"] == "ReceiveWithAuthorization" and typed["message"]["value"] == AMOUNT
    assert typed["message"]["to"] == chain.redeemer.address
    assert chain.balance(key.address) == FUNDS - AMOUNT
    payout = payout_of(portal, merchant_id)
    assert payout.amount == AMOUNT and payout.bank_account.startswith("BNI 7654321")
    no_horizontal_scroll(phone)

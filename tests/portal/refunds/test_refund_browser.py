"""In Debian's Chromium at 360 px: the owner refunds part of a held payment with a reason and sees
the refund in the payment's history, in Indonesian; an owner with its own wallet signs the refund
in the browser (EIP-1193); the pages fit the phone and break no CSP."""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from playwright.sync_api import Page

from tests.portal.refunds.conftest import make_shop
from tests.portal.support import PASSWORD, Served, no_horizontal_scroll
from tests.settlement.minting.support import Chain
from webui.i18n import idr


def test_owner_refunds_part_of_a_payment_at_360px(served: Served, chain: Chain, phone: Page) -> None:
    shop = make_shop(served.portal, chain)
    owner = served.portal.owner(shop.merchant_id)
    phone.goto(f"{served.url}/portal/login")
    phone.fill("#email", owner.email)
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.wait_for_url("**/portal/m/**")
    phone.goto(f"{served.url}/portal/m/{shop.merchant_id}/payments/{shop.payment_id}")
    phone.click("#refund-link")
    phone.wait_for_selector("#refund-form")
    assert phone.inner_text("#refund-max") == idr(shop.amount)
    no_horizontal_scroll(phone)

    phone.check("#refund-partial")
    phone.fill("#refund-amount", "250")
    phone.fill("#refund-reason", "Sambal habis, diganti kerupuk")
    phone.click("#refund-submit")
    phone.wait_for_selector("#refund-done")

    history = phone.inner_text("#refunds")
    assert "Sambal habis, diganti kerupuk" in history
    assert idr(250_00) in history
    assert "Sudah dikembalikan" in history  # confirmed, in Indonesian
    assert phone.inner_text("#refund-max") == idr(shop.amount - 250_00)
    assert shop.held() == shop.amount - 250_00
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


def test_an_own_wallet_owner_signs_the_refund_in_the_browser(
    served: Served, chain: Chain, phone: Page
) -> None:
    key = Account.create()
    shop = make_shop(served.portal, chain, wallet=key.address)
    owner = served.portal.owner(shop.merchant_id)
    asked: list[dict[str, Any]] = []

    def wallet_sign(address: str, typed_json: str) -> str:
        """The wallet: signs EIP-712 typed data with its key, only for its own address."""
        assert address.lower() == key.address.lower(), "the page asked another account to sign"
        typed = json.loads(typed_json)
        asked.append(typed)
        signed = Account.sign_message(encode_typed_data(full_message=typed), key.key)
        return "0x" + bytes(signed.signature).hex()

    phone.expose_function("mscWalletSign", wallet_sign)
    phone.add_init_script(PROVIDER.replace("ADDRESS", json.dumps(key.address)))
    phone.goto(f"{served.url}/portal/login")
    phone.fill("#email", owner.email)
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.wait_for_url("**/portal/m/**")
    phone.goto(f"{served.url}/portal/m/{shop.merchant_id}/payments/{shop.payment_id}/refund")
    phone.check("#refund-full")
    phone.fill("#refund-reason", "Toko tutup lebih awal")
    phone.click("#refund-submit")
    phone.wait_for_selector("#refund-done")

    [typed] = asked
    assert typed["primaryType"] == "RefundAuthorization" and typed["message"]["amount"] == shop.amount
    assert "Toko tutup lebih awal" in phone.inner_text("#refunds")
    assert phone.inner_text("#refund-none")
    assert shop.held() == 0
    no_horizontal_scroll(phone)

"""The refund page: the owner refunds part, then the rest, of a held payment with a reason; a
cashier is refused (403) and a form without its CSRF token too, another merchant sees nothing (404),
an amount above the refundable one or a missing reason is explained; nothing changes on a refusal."""

from __future__ import annotations

import html
import json
import uuid

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import func, select

from merchant_refunds.models import MerchantRefund
from tests.portal.refunds.conftest import Shop, make_shop
from tests.portal.support import Portal, csrf_of
from tests.settlement.minting.support import Chain
from webui.i18n import idr


def _url(shop: Shop) -> str:
    return f"/portal/m/{shop.merchant_id}/payments/{shop.payment_id}/refund"


def _count(portal: Portal, shop: Shop) -> int:
    """Refunds recorded of the shop's payment (the database is shared by the module's tests)."""
    with portal.db.sessions() as session:
        query = (
            select(func.count())
            .select_from(MerchantRefund)
            .where(MerchantRefund.payment_id == shop.payment_id)
        )
        return int(session.scalar(query) or 0)


def _form(page_text: str) -> dict[str, str]:
    submission = page_text.split('name="submission" value="')[1].split('"')[0]
    return {"csrf": csrf_of(page_text), "submission": submission}


def test_the_owner_refunds_part_then_the_rest_with_a_reason(portal: Portal, shop: Shop) -> None:
    owner = portal.owner_client(shop.merchant_id)
    page = owner.get(_url(shop))
    assert page.status_code == 200, page.text
    assert 'id="refund-held"' in page.text and idr(shop.amount) in page.text
    assert 'id="refunds-empty"' in page.text

    done = owner.post(
        _url(shop),
        data={**_form(page.text), "kind": "partial", "amount": "300", "reason": "Es teh kurang manis"},
    )
    assert done.status_code == 303, done.text
    assert shop.held() == shop.amount - 300_00
    after = owner.get(done.headers["location"])
    assert 'id="refund-done"' in after.text
    assert "Es teh kurang manis" in after.text
    assert idr(300_00) in after.text
    assert idr(shop.amount - 300_00) in after.text.split('id="refund-max"')[1][:80]

    rest = owner.post(_url(shop), data={**_form(after.text), "kind": "full", "reason": "Pesanan dibatalkan"})
    assert rest.status_code == 303, rest.text
    assert shop.held() == 0
    final = owner.get(_url(shop)).text
    assert 'id="refund-none"' in final and "Pesanan dibatalkan" in final


def test_a_resubmitted_form_refunds_once(portal: Portal, shop: Shop) -> None:
    owner = portal.owner_client(shop.merchant_id)
    form = {**_form(owner.get(_url(shop)).text), "kind": "partial", "amount": "100", "reason": "Dobel bayar"}
    assert owner.post(_url(shop), data=form).status_code == 303
    assert owner.post(_url(shop), data=form).status_code == 303
    assert _count(portal, shop) == 1
    assert shop.held() == shop.amount - 100_00


def test_refusals_explain_and_change_nothing(portal: Portal, shop: Shop) -> None:
    owner = portal.owner_client(shop.merchant_id)
    form = _form(owner.get(_url(shop)).text)
    too_much = owner.post(
        _url(shop),
        data={**form, "kind": "partial", "amount": str(shop.amount // 100 + 1), "reason": "Kebanyakan"},
    )
    assert too_much.status_code == 422
    assert 'id="refund-error"' in too_much.text
    no_reason = owner.post(_url(shop), data={**form, "kind": "partial", "amount": "100", "reason": "  "})
    assert no_reason.status_code == 422 and 'id="refund-error"' in no_reason.text
    not_rupiah = owner.post(_url(shop), data={**form, "kind": "partial", "amount": "1,5", "reason": "Koma"})
    assert not_rupiah.status_code == 422
    damaged = owner.post(_url(shop), data={**form, "kind": "all", "reason": "Rusak"})
    assert damaged.status_code == 422
    assert _count(portal, shop) == 0
    assert shop.held() == shop.amount


def test_a_cashier_cannot_refund(portal: Portal, shop: Shop) -> None:
    cashier = portal.cashier_client(shop.merchant_id)
    assert cashier.get(_url(shop)).status_code == 403
    csrf = portal.csrf(cashier, f"/portal/m/{shop.merchant_id}/payments")
    refused = cashier.post(
        _url(shop),
        data={"csrf": csrf, "submission": uuid.uuid4().hex, "kind": "full", "reason": "Kasir mencoba"},
    )
    assert refused.status_code == 403
    assert _count(portal, shop) == 0
    assert shop.held() == shop.amount


def test_without_the_csrf_token_nothing_happens(portal: Portal, shop: Shop) -> None:
    owner = portal.owner_client(shop.merchant_id)
    form = _form(owner.get(_url(shop)).text)
    refused = owner.post(
        _url(shop), data={"submission": form["submission"], "kind": "full", "reason": "Tanpa token"}
    )
    assert refused.status_code == 403
    assert _count(portal, shop) == 0
    assert shop.held() == shop.amount


def test_another_merchant_sees_nothing(portal: Portal, shop: Shop) -> None:
    other_merchant = portal.add_merchant(name="Bakso Pak Min")
    other = portal.owner_client(other_merchant)
    assert other.get(_url(shop)).status_code == 404
    # Its own shop's URL with this shop's payment: not its payment either.
    foreign = f"/portal/m/{other_merchant}/payments/{shop.payment_id}/refund"
    assert other.get(foreign).status_code == 404
    csrf = portal.csrf(other, f"/portal/m/{other_merchant}/payments")
    data = {"csrf": csrf, "submission": uuid.uuid4().hex, "kind": "full", "reason": "Bukan punya saya"}
    assert other.post(foreign, data=data).status_code == 404
    assert other.post(_url(shop), data=data).status_code == 404
    assert _count(portal, shop) == 0
    assert shop.held() == shop.amount


def test_the_payment_page_links_owners_to_the_refund(portal: Portal, shop: Shop) -> None:
    owner = portal.owner_client(shop.merchant_id)
    detail = owner.get(f"/portal/m/{shop.merchant_id}/payments/{shop.payment_id}")
    assert f'href="{_url(shop)}"' in detail.text


def test_an_own_wallet_owner_posts_the_wallets_signature(portal: Portal, chain: Chain) -> None:
    key = Account.create()
    shop = make_shop(portal, chain, wallet=key.address)
    owner = portal.owner_client(shop.merchant_id)
    page = owner.get(_url(shop)).text
    assert 'data-wallet="own"' in page and f'data-signer="{key.address}"' in page
    typed = json.loads(html.unescape(page.split('data-typed="')[1].split('"')[0]))
    assert typed["primaryType"] == "RefundAuthorization"
    form = {**_form(page), "kind": "partial", "amount": "150", "reason": "Salah menu"}
    unsigned = owner.post(_url(shop), data=form)
    assert unsigned.status_code == 422 and _count(portal, shop) == 0

    typed["message"]["amount"] = 150_00
    signature = (
        "0x" + bytes(Account.sign_message(encode_typed_data(full_message=typed), key.key).signature).hex()
    )
    signed = {
        **form,
        "signature": signature,
        "nonce": typed["message"]["nonce"],
        "valid_before": str(typed["message"]["validBefore"]),
    }
    wrong_amount = owner.post(_url(shop), data={**signed, "amount": "151"})
    assert wrong_amount.status_code == 422 and _count(portal, shop) == 0
    assert owner.post(_url(shop), data=signed).status_code == 303
    assert shop.held() == shop.amount - 150_00

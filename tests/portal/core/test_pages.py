"""The Today, payments and payment-request pages on SQLite and PostgreSQL: what an owner and a
cashier see of their own shop's payments, and payment requests made from the portal."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from settlement.payments.models import PaymentStatus
from settlement.requests.models import PaymentRequest
from tests.portal.support import Portal, csrf_of


def test_today_counts_only_this_shops_received_payments_in_rupiah_and_pi(portal: Portal) -> None:
    shop, other = portal.add_merchant(), portal.add_merchant("Bakso Pak Kumis")
    first = portal.pay(shop, 12_000)
    portal.pay(shop, 3_500)
    portal.pay(shop, 50_000, until=PaymentStatus.PENDING_ANCHOR)  # not received yet
    portal.pay(other, 99_000)
    cashier = portal.cashier_client(shop)
    page = cashier.get(f"/portal/m/{shop}")
    assert page.status_code == 200
    assert re.search(r'id="sales-count">2<', page.text)
    assert 'id="sales-idr">Rp 15.500<' in page.text
    assert "Rp 12.000 diterima" in page.text and "Rp 99.000" not in page.text
    assert f'data-payment="{first}"' in page.text
    assert f'src="/pay/{shop}/qr.svg"' in page.text and f"/pay/{shop}</a>" in page.text
    assert f'data-source="/portal/m/{shop}/feed?after=' in page.text
    # The menu offers a cashier the pages its role may use, not the owner's.
    assert (
        f'href="/portal/m/{shop}/payments"' in page.text and f'href="/portal/m/{shop}/requests"' in page.text
    )


def test_payment_list_filters_searches_and_pages_and_detail_shows_history(portal: Portal) -> None:
    shop = portal.add_merchant()
    paid = [portal.pay(shop, 1_000 * (i + 1)) for i in range(3)]
    waiting = portal.pay(shop, 7_777, until=PaymentStatus.PENDING_USER_TRANSFER_START)
    owner = portal.owner_client(shop)
    every = owner.get(f"/portal/m/{shop}/payments")
    assert every.status_code == 200 and every.text.count("data-payment=") == 4
    done = owner.get(f"/portal/m/{shop}/payments", params={"status": "completed"})
    assert done.text.count("data-payment=") == 3 and str(waiting) not in done.text
    by_amount = owner.get(f"/portal/m/{shop}/payments", params={"q": "7.777"})
    assert by_amount.text.count("data-payment=") == 1 and str(waiting) in by_amount.text
    by_id = owner.get(f"/portal/m/{shop}/payments", params={"q": str(paid[1])[:8]})
    assert str(paid[1]) in by_id.text
    detail = owner.get(f"/portal/m/{shop}/payments/{paid[0]}")
    assert detail.status_code == 200
    assert detail.text.count("<li><strong>") == 4  # four status moves
    assert f'href="/pay/receipt/{paid[0]}"' in detail.text
    assert f'href="/portal/m/{shop}/payments/{paid[0]}/refund"' in detail.text  # owners may refund
    cashier = portal.cashier_client(shop)
    seen = cashier.get(f"/portal/m/{shop}/payments/{paid[0]}")
    assert seen.status_code == 200 and "/refund" not in seen.text  # a cashier may not


def test_a_payment_of_another_shop_is_not_found(portal: Portal) -> None:
    shop, other = portal.add_merchant(), portal.add_merchant()
    theirs = portal.pay(other, 5_000)
    owner = portal.owner_client(shop)
    answer = owner.get(f"/portal/m/{shop}/payments/{theirs}")
    assert answer.status_code == 404 and "5.000" not in answer.text
    assert owner.get(f"/portal/m/{shop}/payments/not-an-id").status_code == 404


def test_cashier_creates_shares_and_cancels_a_payment_request(portal: Portal) -> None:
    shop = portal.add_merchant()
    cashier = portal.cashier_client(shop)
    form = cashier.get(f"/portal/m/{shop}/requests")
    bad = cashier.post(
        f"/portal/m/{shop}/requests", data={"csrf": csrf_of(form), "amount": "12,5", "reference": "x"}
    )
    assert bad.status_code == 422 and "12.000" in bad.text
    made = cashier.post(
        f"/portal/m/{shop}/requests",
        data={"csrf": csrf_of(form), "amount": "25.000", "reference": "Meja 4", "expiry": "1h"},
    )
    assert made.status_code == 303
    request_id = uuid.UUID(made.headers["location"].rsplit("/", 1)[1])
    with portal.db.sessions() as session:
        stored = session.get(PaymentRequest, request_id)
        assert stored is not None and stored.amount == 2_500_000 and stored.reference == "Meja 4"
        assert stored.merchant_id == shop and stored.expires_at is not None and not stored.reusable
    detail = cashier.get(made.headers["location"])
    assert 'id="r-amount">Rp 25.000<' in detail.text
    assert f"/pay/r/{request_id}</a>" in detail.text and f'src="/pay/r/{request_id}/qr.svg"' in detail.text
    assert cashier.get(f"/pay/r/{request_id}/qr.svg").headers["content-type"].startswith("image/svg")
    cancelled = cashier.post(f"/portal/m/{shop}/requests/{request_id}/cancel", data={"csrf": csrf_of(detail)})
    assert cancelled.status_code == 303
    with portal.db.sessions() as session:
        assert session.get(PaymentRequest, request_id).status == "cancelled"  # type: ignore[union-attr]
    # Another shop's owner cannot see or cancel it.
    stranger = portal.owner_client(portal.add_merchant())
    assert stranger.get(f"/portal/m/{shop}/requests/{request_id}").status_code == 404
    with portal.db.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(PaymentRequest).where(PaymentRequest.merchant_id == shop)
        )
    assert count == 1


def test_payment_list_pages_newest_first_with_older_and_newer_links(portal: Portal) -> None:
    shop = portal.add_merchant()
    oldest = portal.pay(shop, 1_000)
    for i in range(25):  # one page is 25 rows (MSC_PORTAL_PAGE_SIZE)
        portal.pay(shop, 2_000 + i)
    owner = portal.owner_client(shop)
    first = owner.get(f"/portal/m/{shop}/payments")
    assert first.text.count("data-payment=") == 25 and str(oldest) not in first.text
    assert 'id="prev"' not in first.text
    older = re.search(r'<a id="next" href="([^"]+)"', first.text)
    assert older is not None
    second = owner.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("data-payment=") == 1 and str(oldest) in second.text
    assert 'id="prev"' in second.text and 'id="next"' not in second.text

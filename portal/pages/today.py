"""The Today page of a merchant (``/portal/m/{merchant_id}``) and its live feed.

The page shows the Jakarta day's payments received (count, Rupiah, Pi), the shop's checkout QR
code and the payments as they arrive. The feed is Server-Sent Events
(``/portal/m/{merchant_id}/feed``): the stream polls the payments' status history from a cursor
(the page's, then ``Last-Event-ID`` when the browser reconnects, so nothing is missed or shown
twice) and sends one ``payment`` event the moment a payment is first credited, with the day's
new totals. Comment lines keep idle connections open through proxies. Every
``feed_session_check_seconds`` the stream checks the session and the role again and ends when
either is gone (a stolen cookie's stream dies with a sign-out everywhere). That check counts as
use of the session: a Today page left open keeps its session from idling out, up to the
session's absolute lifetime.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from accounts.errors import SessionInvalidError
from accounts.models import Permission
from portal import sales
from portal.services import PortalServices, portal_services
from portal.web import Member, member, public_url, render
from webui.i18n import N_, gettext, idr, pi

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Viewer = Annotated[Member, Depends(member(Permission.VIEW_SALES))]

RECEIVED = N_("%(amount)s received")
"""A feed line and the banner: "Rp 12.000 diterima"."""


def received_text(language: str, idr_sen: int) -> str:
    """ "Rp 12.000 diterima" in ``language``."""
    return gettext(language, RECEIVED, amount=idr(idr_sen))


def _clock_time(at: datetime) -> str:
    return at.astimezone(sales.JAKARTA).strftime("%H:%M")


@router.get("", response_class=HTMLResponse)
def today(request: Request, viewer: Viewer) -> HTMLResponse:
    """Today's sales, the shop's QR code and the live feed of payments."""
    services = portal_services(request)
    now = services.clock()
    day = sales.jakarta_today(now)
    with services.sessions() as db:
        totals = sales.day_sales(db, viewer.merchant_id, day)
        recent = sales.recently_received(db, viewer.merchant_id, sales.jakarta_day(day)[0])
        cursor = sales.feed_cursor(db)
    lines = [
        {
            "payment_id": r.payment_id,
            "text": received_text(viewer.language, r.idr_sen),
            "time": _clock_time(r.at),
            "pi": pi(r.pi_minor),
        }
        for r in recent
    ]
    checkout_path = f"/pay/{viewer.merchant_id}"
    return render(
        request,
        viewer,
        "portal/today/today.html",
        day=day,
        totals=totals,
        lines=lines,
        feed_url=f"/portal/m/{viewer.merchant_id}/feed?after={cursor}",
        checkout_url=public_url(request, checkout_path),
        qr_svg=f"{checkout_path}/qr.svg",
        qr_png=f"{checkout_path}/qr.png",
    )


def _event(viewer: Member, received: sales.Received, totals: sales.DaySales) -> str:
    data = {
        "payment_id": str(received.payment_id),
        "text": received_text(viewer.language, received.idr_sen),
        "idr": idr(received.idr_sen),
        "pi": pi(received.pi_minor),
        "time": _clock_time(received.at),
        "href": f"/portal/m/{viewer.merchant_id}/payments/{received.payment_id}",
        "count": totals.count,
        "total_idr": idr(totals.idr_sen),
        "total_pi": pi(totals.pi_minor),
    }
    return f"id: {received.event_id}\nevent: payment\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _read(
    services: PortalServices, merchant_id: uuid.UUID, cursor: int
) -> tuple[list[sales.Received], sales.DaySales]:
    with services.sessions() as db:
        arrived = sales.received_after(db, merchant_id, cursor)
        if not arrived:
            return [], sales.DaySales(0, 0, 0)
        return arrived, sales.day_sales(db, merchant_id, sales.jakarta_today(services.clock()))


def _still_member(services: PortalServices, viewer: Member) -> bool:
    try:
        principal = services.accounts.authenticate(viewer.session_token)
    except SessionInvalidError:
        return False
    return services.accounts.role(principal.user_id, viewer.merchant_id) is not None


async def _stream(
    request: Request, services: PortalServices, viewer: Member, cursor: int
) -> AsyncIterator[str]:
    settings = services.settings
    yield "retry: 2000\n\n"
    beat = checked = time.monotonic()
    while not await request.is_disconnected():
        arrived, totals = await run_in_threadpool(_read, services, viewer.merchant_id, cursor)
        for received in arrived:
            cursor = received.event_id
            yield _event(viewer, received, totals)
        now = time.monotonic()
        if now - checked >= settings.feed_session_check_seconds:
            checked = now
            if not await run_in_threadpool(_still_member, services, viewer):
                yield "event: end\ndata: {}\n\n"
                return
        if now - beat >= settings.feed_heartbeat_seconds:
            beat = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(settings.feed_poll_seconds)


@router.get("/feed")
async def feed(
    request: Request,
    viewer: Viewer,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Payments as they are credited, as Server-Sent Events (``text/event-stream``).

    Starts after ``Last-Event-ID`` (a reconnecting browser), else after ``?after=`` (the page's
    cursor), else after everything recorded now.
    """
    services = portal_services(request)
    last = request.headers.get("last-event-id", "")
    if last.isdigit():
        cursor = int(last)
    elif after is not None:
        cursor = after
    else:
        cursor = await run_in_threadpool(_cursor, services)
    return StreamingResponse(
        _stream(request, services, viewer, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _cursor(services: PortalServices) -> int:
    with services.sessions() as db:
        return sales.feed_cursor(db)

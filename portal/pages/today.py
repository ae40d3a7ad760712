"""The Today page of a merchant (``/portal/m/{merchant_id}``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from accounts.models import Permission
from portal.web import Member, member, render

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Viewer = Annotated[Member, Depends(member(Permission.VIEW_SALES))]


@router.get("", response_class=HTMLResponse)
def today(request: Request, viewer: Viewer) -> HTMLResponse:
    """Today's sales, the shop's QR code and the live feed of payments."""
    return render(request, viewer, "portal/today/today.html")

"""Placeholder: the payments pages are being built (see portal.pages.today for the pattern)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)

"""``portal.web.second_factor``: the check money-out pages call before moving money (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from accounts.errors import PermissionDeniedError, SecondFactorRequiredError
from accounts.models import Permission, Role
from accounts.service import SESSION_COOKIE
from portal.web import Member, second_factor
from tests.portal.support import Portal


def _member(portal: Portal, token: str, role: Role, merchant_id: object) -> tuple[Request, Member]:
    request = Request({"type": "http", "app": portal.app, "headers": [], "method": "POST", "path": "/"})
    principal = portal.accounts.authenticate(token)
    member = Member(principal.user_id, merchant_id, role, "id", "unused", token)  # type: ignore[arg-type]
    return request, member


def test_second_factor_needs_an_enrolled_app_and_a_fresh_code(portal: Portal) -> None:
    shop = portal.add_merchant()
    owner = portal.onboard_owner(shop)
    client = portal.sign_in(owner)
    request, member = _member(portal, client.cookies[SESSION_COOKIE], Role.OWNER, shop)
    with pytest.raises(SecondFactorRequiredError):
        second_factor(request, member, "123456", Permission.REDEEM)  # no app enrolled yet
    totp, _codes = portal.enrol_totp(client)
    with pytest.raises(SecondFactorRequiredError):
        second_factor(request, member, "", Permission.REDEEM)
    code = portal.code(totp)
    second_factor(request, member, code, Permission.REDEEM)
    with pytest.raises(SecondFactorRequiredError):
        second_factor(request, member, code, Permission.REDEEM)  # a code works once


def test_second_factor_refuses_a_cashier(portal: Portal) -> None:
    shop = portal.add_merchant()
    cashier = portal.add_cashier(portal.onboard_owner(shop))
    client = portal.sign_in(cashier)
    request, member = _member(portal, client.cookies[SESSION_COOKIE], Role.CASHIER, shop)
    with pytest.raises(PermissionDeniedError):
        second_factor(request, member, "123456", Permission.REDEEM)

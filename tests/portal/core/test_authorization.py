"""Authorization of every merchant page and form, walked from the app's routes (SQLite and
PostgreSQL): pages added later by other areas are covered without listing them here.

For each route under ``/portal/m/{merchant_id}`` and each of its methods:
- it requires a permission (its ``member(...)`` dependency);
- without a session: 303 to the sign-in page, coming back to this address;
- the owner of another shop: 404, the same page as for a shop that does not exist;
- a cashier, where the route needs a permission a cashier lacks: 403;
- a POST by the shop's own owner without the form's CSRF token (or with another session's): 403,
  and no row of any table changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table

from accounts.models import ROLE_PERMISSIONS, Role
from portal.web import portal_routes, route_permission
from tests.portal.support import Portal, csrf_of

EXPECTED = {
    ("GET", "/portal/m/{merchant_id}"),
    ("GET", "/portal/m/{merchant_id}/feed"),
    ("GET", "/portal/m/{merchant_id}/payments"),
    ("GET", "/portal/m/{merchant_id}/payments/{payment_id}"),
    ("GET", "/portal/m/{merchant_id}/requests"),
    ("POST", "/portal/m/{merchant_id}/requests"),
    ("GET", "/portal/m/{merchant_id}/requests/{request_id}"),
    ("POST", "/portal/m/{merchant_id}/requests/{request_id}/cancel"),
}
"""This area's routes: the walk must find at least these (it finds every other area's too)."""


def _value(annotation: Any) -> str:
    if annotation is uuid.UUID:
        return str(uuid.uuid4())
    if annotation is int:
        return "1"
    return "x"


def _path(route: APIRoute, merchant_id: uuid.UUID) -> str:
    values = {"merchant_id": str(merchant_id)}
    for param in route.dependant.path_params:
        if param.name != "merchant_id":
            values[param.name] = _value(param.field_info.annotation)
    return route.path.format(**values)


def _cases(portal: Portal) -> Iterator[tuple[str, APIRoute]]:
    for route in portal_routes(portal.app):
        for method in sorted(route.methods or ()):
            yield method, route


def _row_counts(portal: Portal) -> dict[str, int]:
    with portal.db.engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {name: connection.scalar(select(func.count()).select_from(table(name))) or 0 for name in names}


def _send(client: TestClient, method: str, path: str, csrf: str | None = None) -> Any:
    data = {"csrf": csrf} if csrf is not None else {"note": "no token"}
    if method == "GET":
        return client.get(path)
    return client.request(method, path, data=data)


def test_every_merchant_route_is_guarded(portal: Portal) -> None:
    shop, elsewhere = portal.add_merchant(), portal.add_merchant("Toko Lain")
    owner = portal.onboard_owner(shop)
    owner_client = portal.sign_in(owner)
    cashier_client = portal.sign_in(portal.add_cashier(owner))
    stranger = portal.sign_in(portal.onboard_owner(elsewhere))
    anonymous = portal.client()
    other_session_token = csrf_of(stranger.get(f"/portal/m/{elsewhere}"))
    cashier_may = ROLE_PERMISSIONS[Role.CASHIER]

    found = set()
    for method, route in _cases(portal):
        found.add((method, route.path))
        permission = route_permission(route)
        assert permission is not None, f"{method} {route.path} has no member(...) permission"
        path = _path(route, shop)
        where = f"{method} {route.path}"

        refused = _send(anonymous, method, path)
        assert refused.status_code == 303, where
        assert refused.headers["location"].startswith("/portal/login?next=/portal/m/"), where

        hidden = _send(stranger, method, path)
        nowhere = uuid.uuid4()
        missing = _send(stranger, method, path.replace(str(shop), str(nowhere)))
        assert hidden.status_code == missing.status_code == 404, where
        # The same page as for a shop that does not exist: nothing tells the two apart.
        assert hidden.text.replace(str(shop), "?") == missing.text.replace(str(nowhere), "?"), where

        if permission not in cashier_may:
            forbidden = _send(cashier_client, method, path)
            assert forbidden.status_code == 403, where

        if method != "GET":
            before = _row_counts(portal)
            assert _send(owner_client, method, path).status_code == 403, where
            assert _send(owner_client, method, path, csrf=other_session_token).status_code == 403, where
            assert _row_counts(portal) == before, f"{where} changed rows without its CSRF token"

    assert found >= EXPECTED, EXPECTED - found


def test_refusal_pages_are_in_indonesian_and_english(portal: Portal) -> None:
    shop = portal.add_merchant()
    stranger = portal.owner_client(portal.add_merchant())
    page = stranger.get(f"/portal/m/{shop}")
    assert (
        page.status_code == 404 and '<html lang="id">' in page.text and "Halaman ini tidak ada" in page.text
    )
    english = stranger.get(f"/portal/m/{shop}", params={"lang": "en"})
    assert english.status_code == 404 and "This page does not exist" in english.text
    unknown = stranger.get("/portal/no-such-page")
    assert unknown.status_code == 404 and "<html" in unknown.text
    api = stranger.get("/v1/no-such-route")
    assert api.headers["content-type"].startswith("application/json")  # the API keeps its envelope

"""The settings page: users and roles, webhooks and API keys (secrets shown once), language;
only owners reach it, every form needs its CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from accounts.models import Invitation, Membership
from api.auth import lookup
from api.models import ApiKey
from settlement.webhooks.models import WebhookEndpoint, WebhookSecret
from tests.portal.support import PASSWORD, Portal, csrf_of, new_email


def settings_path(merchant) -> str:
    return f"/portal/m/{merchant}/settings"


def shown(page, element_id: str) -> str:
    match = re.search(rf'<output id="{element_id}" class="secret">([^<]+)</output>', page.text)
    assert match is not None, page.text[:2000]
    return match.group(1)


def counts(portal: Portal, merchant) -> tuple[int, ...]:
    """Rows that a settings form would add for ``merchant`` (members, invitations, keys, webhooks)."""
    with portal.db.sessions() as db:
        return tuple(
            db.scalar(select(func.count()).select_from(model).where(column == value)) or 0
            for model, column, value in (
                (Membership, Membership.merchant_id, merchant),
                (Invitation, Invitation.merchant_id, merchant),
                (ApiKey, ApiKey.merchant_id, merchant),
                (WebhookEndpoint, WebhookEndpoint.merchant_id, str(merchant)),
            )
        )


def test_owner_invites_a_cashier_whose_link_works_once(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    page = owner.post(
        settings_path(merchant) + "/users/invite",
        data={"email": "kasir@example.id", "csrf": portal.csrf(owner, settings_path(merchant))},
    )
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    link = shown(page, "invite-link")
    assert link.startswith("https://testserver/portal/invite/")
    assert link not in owner.get(settings_path(merchant)).text  # shown once

    invitee = portal.client()
    form = invitee.get(link.removeprefix("https://testserver"))
    assert form.status_code == 200
    accepted = invitee.post(
        link.removeprefix("https://testserver"),
        data={
            "password": PASSWORD,
            "password_again": PASSWORD,
            "display_name": "Mas Budi",
            "csrf": csrf_of(form),
        },
    )
    assert accepted.status_code in (200, 303), accepted.text[:500]
    with portal.db.sessions() as db:
        roles = sorted(db.scalars(select(Membership.role).where(Membership.merchant_id == merchant)))
    assert roles == ["cashier", "owner"]
    assert "kasir@example.id" in owner.get(settings_path(merchant)).text


def test_the_only_owner_cannot_be_removed_but_a_cashier_can(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner_person = portal.owner(merchant)
    cashier = portal.add_cashier(owner_person)
    owner = portal.sign_in(owner_person)
    token = portal.csrf(owner, settings_path(merchant))
    refused = owner.post(
        f"{settings_path(merchant)}/users/{owner_person.user_id}/remove", data={"csrf": token}
    )
    assert refused.status_code == 409 and 'id="settings-error"' in refused.text
    removed = owner.post(f"{settings_path(merchant)}/users/{cashier.user_id}/remove", data={"csrf": token})
    assert removed.status_code == 303
    with portal.db.sessions() as db:
        assert list(db.scalars(select(Membership.user_id).where(Membership.merchant_id == merchant))) == [
            owner_person.user_id
        ]


def test_api_keys_issue_rotate_revoke_with_the_secret_shown_once(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    token = portal.csrf(owner, settings_path(merchant))
    issued = owner.post(settings_path(merchant) + "/keys", data={"csrf": token})
    secret = shown(issued, "api-key")
    principal = lookup(portal.db.sessions, secret)
    assert principal is not None and principal.merchant_id == merchant
    listing = owner.get(settings_path(merchant)).text
    assert secret not in listing and secret[:12] in listing

    rotated = owner.post(
        f"{settings_path(merchant)}/keys/{principal.api_key_id}/rotate", data={"csrf": token}
    )
    successor = shown(rotated, "api-key")
    assert successor != secret and lookup(portal.db.sessions, successor) is not None
    assert lookup(portal.db.sessions, secret) is not None  # the old key works through its grace period

    new_id = lookup(portal.db.sessions, successor).api_key_id
    assert (
        owner.post(f"{settings_path(merchant)}/keys/{new_id}/revoke", data={"csrf": token}).status_code == 303
    )
    assert lookup(portal.db.sessions, successor) is None

    other = portal.add_merchant()
    other_owner = portal.owner_client(other)
    other_token = portal.csrf(other_owner, settings_path(other))
    stolen = other_owner.post(
        f"{settings_path(other)}/keys/{principal.api_key_id}/revoke", data={"csrf": other_token}
    )
    assert stolen.status_code == 404 and lookup(portal.db.sessions, secret) is not None


def test_webhooks_refuse_private_targets_and_show_the_secret_once(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    token = portal.csrf(owner, settings_path(merchant))
    before = counts(portal, merchant)
    refused = owner.post(
        settings_path(merchant) + "/webhooks",
        data={"csrf": token, "url": "http://127.0.0.1:6379/", "events": ["payment.completed"]},
    )
    assert refused.status_code == 422 and 'id="settings-error"' in refused.text
    assert counts(portal, merchant) == before

    portal.app.state.webhook_resolver = lambda host, port: ["93.184.216.34"]
    added = owner.post(
        settings_path(merchant) + "/webhooks",
        data={
            "csrf": token,
            "url": "https://hooks.example.com/msc",
            "events": ["payment.completed", "payout.paid"],
        },
    )
    secret = shown(added, "webhook-secret")
    assert secret.startswith("whsec_")
    listing = owner.get(settings_path(merchant)).text
    assert "https://hooks.example.com/msc" in listing and secret not in listing
    with portal.db.sessions() as db:
        endpoint = db.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == str(merchant))
        ).one()
    rotated = shown(
        owner.post(f"{settings_path(merchant)}/webhooks/{endpoint.id}/rotate", data={"csrf": token}),
        "webhook-secret",
    )
    assert rotated != secret
    with portal.db.sessions() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(WebhookSecret)
                .where(WebhookSecret.endpoint_id == endpoint.id)
            )
            == 2
        )
    assert (
        owner.post(
            f"{settings_path(merchant)}/webhooks/{endpoint.id}/delete", data={"csrf": token}
        ).status_code
        == 303
    )
    with portal.db.sessions() as db:
        assert db.get(WebhookEndpoint, endpoint.id).deleted_at is not None


def test_a_cashier_cannot_reach_settings_and_changes_nothing(portal: Portal) -> None:
    merchant = portal.add_merchant()
    cashier = portal.cashier_client(merchant)
    assert cashier.get(settings_path(merchant)).status_code == 403
    token = portal.csrf(cashier, f"/portal/m/{merchant}/reports")
    before = counts(portal, merchant)
    for action, data in (
        ("/keys", {}),
        ("/users/invite", {"email": new_email()}),
        ("/webhooks", {"url": "https://hooks.example.com/x", "events": "payment.completed"}),
    ):
        answer = cashier.post(settings_path(merchant) + action, data={"csrf": token, **data})
        assert answer.status_code == 403, action
    assert counts(portal, merchant) == before


def test_a_form_without_its_csrf_token_is_refused(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    before = counts(portal, merchant)
    for action in ("/keys", "/users/invite"):
        answer = owner.post(settings_path(merchant) + action, data={"email": new_email()})
        assert answer.status_code == 403
    assert counts(portal, merchant) == before


def test_language_preference_is_remembered(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    token = portal.csrf(owner, settings_path(merchant))
    answer = owner.post(settings_path(merchant) + "/language", data={"csrf": token, "language": "en"})
    assert answer.status_code == 303 and "msc_lang=en" in answer.headers["set-cookie"]
    assert '<html lang="en">' in owner.get(settings_path(merchant)).text

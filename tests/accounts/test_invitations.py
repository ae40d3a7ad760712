"""Invitations: the operator invites an owner, the owner invites cashiers; single-use, expiring,
stored hashed; roles decide what each member may do."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts import credentials
from accounts.errors import (
    InvalidCredentialsError,
    InvitationInvalidError,
    LastOwnerError,
    PermissionDeniedError,
    WeakPasswordError,
)
from accounts.models import Invitation, MerchantUser, Permission, Role
from tests.accounts.conftest import PASSWORD, add_cashier, address, email, new_merchant, onboard_owner


def test_the_operator_onboards_an_owner_who_signs_in(service, db):
    owner = onboard_owner(service, db)
    assert service.role(owner.user_id, owner.merchant_id) == Role.OWNER
    signed = service.sign_in(owner.email.upper(), PASSWORD, address())
    assert service.authenticate(signed.token).user_id == owner.user_id


def test_an_invitation_token_is_stored_hashed_and_used_once(service, db):
    merchant_id = new_merchant(db)
    invitation = service.invite_owner(merchant_id, email(), operator="ops")
    with db.sessions() as session:
        row = session.get(Invitation, invitation.invitation_id)
        assert row is not None
        assert (
            row.token_hash == credentials.token_hash(invitation.token)
            and invitation.token not in row.token_hash
        )
    service.accept_invitation(invitation.token, PASSWORD, "Owner")
    with pytest.raises(InvitationInvalidError):
        service.accept_invitation(invitation.token, PASSWORD, "Someone else")
    assert invitation.token not in repr(invitation) and invitation.token not in str(invitation)


def test_an_expired_or_revoked_invitation_is_refused(service, db, clock):
    merchant_id = new_merchant(db)
    expired = service.invite_owner(merchant_id, email(), operator="ops")
    clock.advance(service.settings.invitation_seconds + 1)
    with pytest.raises(InvitationInvalidError):
        service.accept_invitation(expired.token, PASSWORD, "Late")
    revoked = service.invite_owner(merchant_id, email(), operator="ops")
    assert service.revoke_invitation(revoked.invitation_id)
    with pytest.raises(InvitationInvalidError):
        service.accept_invitation(revoked.token, PASSWORD, "Withdrawn")
    with pytest.raises(InvitationInvalidError):
        service.accept_invitation("not-a-token", PASSWORD, "Guess")


def test_a_weak_password_is_refused_and_the_invitation_stays_usable(service, db):
    invitation = service.invite_owner(new_merchant(db), email(), operator="ops")
    with pytest.raises(WeakPasswordError):
        service.accept_invitation(invitation.token, "short", "Owner")
    service.accept_invitation(invitation.token, PASSWORD, "Owner")


def test_the_owner_invites_a_cashier_who_cannot_invite_or_take_money_out(service, db):
    owner = onboard_owner(service, db)
    owner_token = service.sign_in(owner.email, PASSWORD, address()).token
    cashier = add_cashier(service, owner_token, owner)
    assert service.role(cashier.user_id, owner.merchant_id) == Role.CASHIER
    cashier_token = service.sign_in(cashier.email, PASSWORD, address()).token
    assert (
        service.authorize(cashier_token, owner.merchant_id, Permission.VIEW_SALES).user_id == cashier.user_id
    )
    for permission in (
        Permission.REDEEM,
        Permission.REFUND,
        Permission.CHANGE_BANK_ACCOUNT,
        Permission.MANAGE_USERS,
    ):
        with pytest.raises(PermissionDeniedError):
            service.authorize(cashier_token, owner.merchant_id, permission)
    with pytest.raises(PermissionDeniedError):
        service.invite_cashier(cashier_token, owner.merchant_id, email())


def test_merchant_a_owner_has_no_rights_at_merchant_b(service, db):
    a, b = onboard_owner(service, db), onboard_owner(service, db)
    token = service.sign_in(a.email, PASSWORD, address()).token
    for permission in Permission:
        with pytest.raises(PermissionDeniedError):
            service.authorize(token, b.merchant_id, permission)
    with pytest.raises(PermissionDeniedError):
        service.invite_cashier(token, b.merchant_id, email())


def test_an_existing_user_accepting_another_merchants_invitation_proves_its_password(service, db):
    owner = onboard_owner(service, db)
    other_merchant = new_merchant(db)
    first = service.invite_owner(other_merchant, owner.email, operator="ops")
    with pytest.raises(InvalidCredentialsError):
        service.accept_invitation(first.token, "a-different-password", "Impostor")
    assert service.accept_invitation(first.token, PASSWORD, "Bu Sri") == owner.user_id
    assert service.role(owner.user_id, other_merchant) == Role.OWNER
    with db.sessions() as session:
        users = session.scalars(select(MerchantUser).where(MerchantUser.email == owner.email)).all()
    assert len(users) == 1


def test_an_owner_removes_a_cashier_but_never_the_last_owner(service, db):
    owner = onboard_owner(service, db)
    owner_token = service.sign_in(owner.email, PASSWORD, address()).token
    cashier = add_cashier(service, owner_token, owner)
    cashier_token = service.sign_in(cashier.email, PASSWORD, address()).token
    with pytest.raises(PermissionDeniedError):
        service.remove_member(cashier_token, owner.merchant_id, owner.user_id)
    assert service.remove_member(owner_token, owner.merchant_id, cashier.user_id)
    with pytest.raises(PermissionDeniedError):
        service.authorize(cashier_token, owner.merchant_id, Permission.VIEW_SALES)
    with pytest.raises(LastOwnerError):
        service.remove_member(owner_token, owner.merchant_id, owner.user_id)
    assert service.role(owner.user_id, owner.merchant_id) == Role.OWNER

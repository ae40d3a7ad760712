"""The consent registry (city.credit.consent) on SQLite and PostgreSQL: grants, revocations,
idempotency, sharing needs scoring, revoking scoring revokes sharing, and a complete log.

One migrated database per backend for the module; each test makes its own merchants and
lenders, so tests do not see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from city.credit import consent
from city.credit.models import Consent, ConsentEvent
from common.errors import ConflictError, NotFoundError, ValidationError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from tests.support.factories import add_merchant

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
OWNER = consent.portal_actor(uuid.UUID(int=7))


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    """A migrated database of the backend, shared by the module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('consent') / 'consent.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _lender(sessions: sessionmaker[Session], name: str | None = None) -> uuid.UUID:
    with sessions.begin() as session:
        return consent.lender_named(session, name or f"Koperasi {uuid.uuid4().hex[:8]}", T0).id


def _kinds(session: Session, merchant: uuid.UUID) -> list[tuple[str, str]]:
    return [(e.kind, e.purpose) for e in consent.events(session, merchant)]


def test_grant_then_revoke_changes_what_is_active_at_each_moment(sessions: sessionmaker[Session]) -> None:
    merchant = add_merchant(sessions)
    with sessions.begin() as session:
        granted = consent.grant(session, merchant, "scoring", None, OWNER, T0)
    with sessions.begin() as session:
        assert merchant in consent.merchants_consenting_to_scoring(session, T0)
        assert merchant not in consent.merchants_consenting_to_scoring(session, T0 - timedelta(seconds=1))
        done = consent.revoke(session, merchant, granted.id, OWNER, T0 + timedelta(days=1))
        assert done.cascaded == () and done.consent.revoked_by == OWNER
    with sessions() as session:
        assert merchant in consent.merchants_consenting_to_scoring(session, T0 + timedelta(hours=23))
        assert merchant not in consent.merchants_consenting_to_scoring(session, T0 + timedelta(days=1))
        assert consent.active_consents(session, merchant, T0 + timedelta(days=2)) == []
        assert _kinds(session, merchant) == [("revoke", "scoring"), ("grant", "scoring")]


def test_granting_twice_keeps_one_active_row_and_one_grant_event(sessions: sessionmaker[Session]) -> None:
    merchant, lender = add_merchant(sessions), _lender(sessions)
    with sessions.begin() as session:
        first = consent.grant(session, merchant, "scoring", None, OWNER, T0)
        again = consent.grant(session, merchant, "scoring", None, OWNER, T0 + timedelta(minutes=5))
        share = consent.grant(session, merchant, "sharing", lender, OWNER, T0)
        share_again = consent.grant(session, merchant, "sharing", lender, OWNER, T0 + timedelta(minutes=5))
    assert (again.id, share_again.id) == (first.id, share.id)
    with sessions() as session:
        rows = session.scalar(select(func.count()).where(Consent.merchant_id == merchant))
        assert rows == 2
        assert _kinds(session, merchant) == [("grant", "sharing"), ("grant", "scoring")]


def test_sharing_needs_scoring_and_a_real_lender_and_refusals_change_nothing(
    sessions: sessionmaker[Session],
) -> None:
    merchant, lender = add_merchant(sessions), _lender(sessions)
    refusals: list[tuple[type[Exception], str, uuid.UUID | None]] = [
        (ConflictError, "sharing", lender),  # no scoring consent yet
        (ValidationError, "sharing", None),  # sharing names a lender
        (ValidationError, "scoring", lender),  # scoring names none
        (ValidationError, "sharing", uuid.uuid4()),  # unknown lender
        (ValidationError, "marketing", None),  # no such purpose
    ]
    for error, purpose, lender_id in refusals:
        with pytest.raises(error), sessions.begin() as session:
            consent.grant(session, merchant, purpose, lender_id, OWNER, T0)
    with pytest.raises(consent.ScoringConsentRequiredError) as raised, sessions.begin() as session:
        consent.grant(session, merchant, "sharing", lender, OWNER, T0)
    assert raised.value.status_code == 409 and raised.value.code == "scoring_consent_required"
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Consent.merchant_id == merchant)) == 0
        assert session.scalar(select(func.count()).where(ConsentEvent.merchant_id == merchant)) == 0
        assert not consent.may_share(session, merchant, lender, T0)


def test_revoking_scoring_revokes_every_sharing_grant_each_logged(sessions: sessionmaker[Session]) -> None:
    merchant, bank, coop, other = (
        add_merchant(sessions),
        _lender(sessions),
        _lender(sessions),
        _lender(sessions),
    )
    later = T0 + timedelta(hours=2)
    with sessions.begin() as session:
        scoring = consent.grant(session, merchant, "scoring", None, OWNER, T0)
        consent.grant(session, merchant, "sharing", bank, OWNER, T0 + timedelta(minutes=1))
        consent.grant(session, merchant, "sharing", coop, OWNER, T0 + timedelta(minutes=2))
        assert consent.may_share(session, merchant, bank, later)
        assert consent.may_share(session, merchant, coop, later)
        assert not consent.may_share(session, merchant, other, later)
        assert consent.merchants_sharing_with(session, bank, later) == [merchant]
    with sessions.begin() as session:
        done = consent.revoke(session, merchant, scoring.id, OWNER, later)
        assert sorted(c.lender_id for c in done.cascaded if c.lender_id) == sorted([bank, coop])
    with sessions() as session:
        assert not consent.may_share(session, merchant, bank, later)
        assert consent.may_share(session, merchant, bank, later - timedelta(seconds=1))
        assert consent.merchants_sharing_with(session, bank, later) == []
        log = consent.events(session, merchant)
        # one moment: the scoring revocation is logged last, so it is the newest line
        assert [(e.kind, e.purpose) for e in log[:3]] == [
            ("revoke", "scoring"),
            ("revoke", "sharing"),
            ("revoke", "sharing"),
        ]
        assert {e.lender_id for e in log[:3]} == {None, bank, coop}
        assert all(e.at == later and e.actor == OWNER for e in log[:3])
    with sessions.begin() as session:  # revoking again is harmless and logs nothing
        assert consent.revoke(session, merchant, scoring.id, OWNER, later + timedelta(hours=1)).cascaded == ()
    with sessions() as session:
        assert len(consent.events(session, merchant)) == 6


def test_a_merchant_cannot_revoke_another_merchants_consent(sessions: sessionmaker[Session]) -> None:
    mine, theirs = add_merchant(sessions), add_merchant(sessions)
    with sessions.begin() as session:
        their_consent = consent.grant(session, theirs, "scoring", None, OWNER, T0)
    for consent_id in (their_consent.id, uuid.uuid4()):
        with pytest.raises(NotFoundError), sessions.begin() as session:
            consent.revoke(session, mine, consent_id, OWNER, T0 + timedelta(hours=1))
    with sessions() as session:
        assert theirs in consent.merchants_consenting_to_scoring(session, T0 + timedelta(hours=1))


def test_the_log_is_complete_newest_first_with_reads(sessions: sessionmaker[Session]) -> None:
    merchant, lender = add_merchant(sessions), _lender(sessions, "Bank Jatim Madiun")
    with sessions.begin() as session:
        scoring = consent.grant(session, merchant, "scoring", None, OWNER, T0)
        sharing = consent.grant(session, merchant, "sharing", lender, OWNER, T0 + timedelta(minutes=1))
        consent.record_read(session, merchant, lender, "health-report.json", T0 + timedelta(minutes=2))
        consent.revoke(session, merchant, sharing.id, OWNER, T0 + timedelta(minutes=3))
    with sessions() as session:
        log = consent.events(session, merchant)
        assert [(e.kind, e.purpose, e.lender_id, e.consent_id, e.actor, e.what) for e in log] == [
            ("revoke", "sharing", lender, sharing.id, OWNER, None),
            ("read", "sharing", lender, None, consent.lender_actor(lender), "health-report.json"),
            ("grant", "sharing", lender, sharing.id, OWNER, None),
            ("grant", "scoring", None, scoring.id, OWNER, None),
        ]
        assert [e.at for e in log] == [T0 + timedelta(minutes=m) for m in (3, 2, 1, 0)]
        assert consent.events(session, merchant, limit=1)[0].kind == "revoke"
    with pytest.raises(ValidationError), sessions.begin() as session:
        consent.record_read(session, merchant, lender, "", T0)


def test_lenders_are_found_by_name_once(sessions: sessionmaker[Session]) -> None:
    name = f"Koperasi  Sejahtera {uuid.uuid4().hex[:6]}"
    with sessions.begin() as session:
        first = consent.lender_named(session, name, T0)
        again = consent.lender_named(session, "  " + name.replace("  ", " ") + " ", T0)
        assert first.id == again.id and first.name == " ".join(name.split())
        assert first.id in {row.id for row in consent.lenders(session)}
    for bad in ("", "   ", "x" * 201, "Bank\x00Jatim"):
        with pytest.raises(ValidationError), sessions.begin() as session:
            consent.lender_named(session, bad, T0)


def test_the_migration_refuses_a_lender_key_without_a_lender(sessions: sessionmaker[Session]) -> None:
    """``api_keys``' CHECK constraint (migration 0032) holds on both backends."""
    from sqlalchemy.exc import IntegrityError

    from api.models import ApiKey

    for role, lender_id in (("lender", None), ("operator", _lender(sessions))):
        with pytest.raises(IntegrityError), sessions.begin() as session:
            session.add(
                ApiKey(
                    key_hash=uuid.uuid4().hex * 2,
                    prefix="msc_x",
                    role=role,
                    lender_id=lender_id,
                    created_at=T0,
                )
            )


def test_the_database_refuses_a_second_active_grant(sessions: sessionmaker[Session]) -> None:
    """The partial unique indexes (migration 0032) back the service's "one active grant"."""
    from sqlalchemy.exc import IntegrityError

    merchant, lender = add_merchant(sessions), _lender(sessions)
    with sessions.begin() as session:
        consent.grant(session, merchant, "scoring", None, OWNER, T0)
        consent.grant(session, merchant, "sharing", lender, OWNER, T0)
    for purpose, lender_id in (("scoring", None), ("sharing", lender)):
        with pytest.raises(IntegrityError), sessions.begin() as session:
            session.add(
                Consent(
                    merchant_id=merchant,
                    purpose=purpose,
                    lender_id=lender_id,
                    granted_at=T0,
                    granted_by=OWNER,
                )
            )
    with sessions.begin() as session:  # after a revocation a new grant is a new row
        scoring = consent.active_consents(session, merchant, T0)[0]
        consent.revoke(session, merchant, scoring.id, OWNER, T0 + timedelta(hours=1))
        again = consent.grant(session, merchant, "scoring", None, OWNER, T0 + timedelta(hours=2))
        assert again.id != scoring.id

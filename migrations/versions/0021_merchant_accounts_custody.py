"""Merchant portal foundations: custodial keys and merchant users.

* ``custody_keys``: a merchant's platform-held secp256k1 keys, envelope-encrypted (AES-256-GCM
  data key per key, wrapped by the master key); ``current_for`` makes one current key per merchant.
* ``custody_key_history``: creation, retirement, re-wrapping and every signature of a key.
* ``merchant_users``, ``merchant_memberships``: portal users (argon2id passwords, TOTP) and their
  role (owner or cashier) per merchant.
* ``merchant_invitations``: single-use, expiring invitations, token stored as SHA-256.
* ``merchant_sessions``: server-side sessions (id stored as SHA-256, absolute and idle expiry,
  per-session CSRF secret).
* ``merchant_recovery_codes``, ``merchant_login_throttles``, ``merchant_account_events``.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates the tables."""
    op.create_table(
        "merchant_account_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("merchant_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_account_events")),
    )
    op.create_index(
        "ix_merchant_account_events_user_id", "merchant_account_events", ["user_id"], unique=False
    )
    op.create_table(
        "merchant_login_throttles",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_merchant_login_throttles")),
    )
    op.create_table(
        "merchant_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=160), nullable=True),
        sa.Column("totp_enabled_at", UtcDateTime(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_users")),
        sa.UniqueConstraint("email", name=op.f("uq_merchant_users_email")),
    )
    op.create_table(
        "custody_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_for", sa.Uuid(), nullable=True),
        sa.Column("encrypted_key", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_custody_keys_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_keys")),
        sa.UniqueConstraint("address", name=op.f("uq_custody_keys_address")),
        sa.UniqueConstraint("current_for", name=op.f("uq_custody_keys_current_for")),
    )
    op.create_index("ix_custody_keys_merchant_id", "custody_keys", ["merchant_id"], unique=False)
    op.create_table(
        "merchant_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accepted_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_user_id"],
            ["merchant_users.id"],
            name=op.f("fk_merchant_invitations_accepted_by_user_id_merchant_users"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["merchant_users.id"],
            name=op.f("fk_merchant_invitations_invited_by_user_id_merchant_users"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_invitations_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_merchant_invitations_token_hash")),
    )
    op.create_index(
        "ix_merchant_invitations_merchant_id", "merchant_invitations", ["merchant_id"], unique=False
    )
    op.create_table(
        "merchant_memberships",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_memberships_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["merchant_users.id"], name=op.f("fk_merchant_memberships_user_id_merchant_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_memberships")),
        sa.UniqueConstraint("user_id", "merchant_id", name="uq_merchant_memberships_user_merchant"),
    )
    op.create_index(
        "ix_merchant_memberships_merchant_id", "merchant_memberships", ["merchant_id"], unique=False
    )
    op.create_table(
        "merchant_recovery_codes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["merchant_users.id"], name=op.f("fk_merchant_recovery_codes_user_id_merchant_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_merchant_recovery_codes_code_hash")),
    )
    op.create_index(
        "ix_merchant_recovery_codes_user_id", "merchant_recovery_codes", ["user_id"], unique=False
    )
    op.create_table(
        "merchant_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_secret", sa.LargeBinary(), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("second_factor_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["merchant_users.id"], name=op.f("fk_merchant_sessions_user_id_merchant_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_merchant_sessions_token_hash")),
    )
    op.create_index("ix_merchant_sessions_user_id", "merchant_sessions", ["user_id"], unique=False)
    op.create_table(
        "custody_key_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["custody_keys.id"], name=op.f("fk_custody_key_history_key_id_custody_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_key_history")),
    )
    op.create_index("ix_custody_key_history_key_id", "custody_key_history", ["key_id"], unique=False)


def downgrade() -> None:
    """Drops them."""
    op.drop_index("ix_custody_key_history_key_id", table_name="custody_key_history")
    op.drop_table("custody_key_history")
    op.drop_index("ix_merchant_sessions_user_id", table_name="merchant_sessions")
    op.drop_table("merchant_sessions")
    op.drop_index("ix_merchant_recovery_codes_user_id", table_name="merchant_recovery_codes")
    op.drop_table("merchant_recovery_codes")
    op.drop_index("ix_merchant_memberships_merchant_id", table_name="merchant_memberships")
    op.drop_table("merchant_memberships")
    op.drop_index("ix_merchant_invitations_merchant_id", table_name="merchant_invitations")
    op.drop_table("merchant_invitations")
    op.drop_index("ix_custody_keys_merchant_id", table_name="custody_keys")
    op.drop_table("custody_keys")
    op.drop_table("merchant_users")
    op.drop_table("merchant_login_throttles")
    op.drop_index("ix_merchant_account_events_user_id", table_name="merchant_account_events")
    op.drop_table("merchant_account_events")

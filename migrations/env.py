"""Alembic environment of the whole platform.

Every package with SQL models lists its models module in ``MODEL_MODULES`` so autogenerate sees
all tables on the one :class:`common.sql.base.Base`. The URL is, in order: the one the caller put
in the config (``common.sql.migrate.upgrade``), ``-x url=...``, then ``MSC_DATABASE_URL``.
"""

from __future__ import annotations

import importlib

from alembic import context

from common.sql.base import Base
from common.sql.engine import create_engine_from_url
from common.sql.settings import DatabaseSettings

MODEL_MODULES = (
    "indexer.models",
    "indexer.market_models",
    "settlement.quotes.models",
    "settlement.ledger.models",
    "settlement.payments.models",
    "settlement.payouts.models",
    "settlement.minting.models",
    "settlement.redemption.models",
    "settlement.flow.models",
    "settlement.pi.wallet_slots",
    "settlement.paybacks.models",
    "api.models",
    "api.carbon.models",
    "carbon.registry.models",
    "settlement.webhooks.models",
    "audit.store.models",
    "market.models",
    "settlement.requests.models",
    "custody.models",
    "accounts.models",
    "merchant_money.models",
    "merchant_refunds.models",
    "city.lpui.models",
    "city.credit.models",
    "city.credit.ldci_models",
    "city.forecast.models",
    "audit.liabilities.models",
    "audit.monthly.models",
)

for module in MODEL_MODULES:
    importlib.import_module(module)

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL to migrate."""
    return (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or DatabaseSettings.from_env().url
    )


def run_migrations_offline() -> None:
    """Emits SQL to stdout instead of running it."""
    context.configure(
        url=database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Runs the migrations against the database."""
    engine = create_engine_from_url(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

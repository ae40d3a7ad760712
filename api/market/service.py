"""The market service of the running app, and who a caller trades as.

Traders authenticate with their **merchant** API key: a merchant's ``evm_address`` is the one address
its orders may be signed by (``trader``), so a key can only ever submit, list and cancel the orders of
its own wallet. No new role is needed, and onboarding (KYC of the merchant) is what makes an account
trade. Operators set reference prices; book, trades and candles are public market data.

The :class:`~market.service.MarketService` is built on first use from ``MSC_*`` chain settings and the
app's database (the book is rebuilt from SQL), or given ready-made as ``app.state.market`` (tests, or a
process that also runs the settler). Building it needs the node (acceptance reads the chain): while the
node or the deployment is missing, market routes answer 503 rather than accept unchecked orders.
"""

from __future__ import annotations

import threading
import time

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal
from api.merchants import service as merchants
from chain.platform import load_platform
from chain.settings import ChainSettings
from common.errors import ConfigurationError, MSCError
from market.acceptance import OrderAcceptance
from market.service import MarketService
from market.store import MarketStore

_build_lock = threading.Lock()


class MarketUnavailableError(MSCError):
    """The market cannot start: the platform is not deployed on the configured network yet."""

    code = "market_unavailable"
    status_code = 503

    def __init__(self, problem: str) -> None:
        super().__init__(f"the carbon market is not available: {problem}")


def build_market(
    sessions: sessionmaker[Session], chain_settings: ChainSettings | None = None
) -> MarketService:
    """A market service on the configured chain and the given database."""
    platform = load_platform(chain_settings or ChainSettings.from_env())
    acceptance = OrderAcceptance(
        platform.market, platform.msc, platform.carbon, platform.deployment.chain_id, lambda: int(time.time())
    )
    return MarketService(MarketStore(sessions), acceptance)


def get_market(request: Request) -> MarketService:
    """The app's market service (a dependency); built once, on the first request that needs it."""
    state = request.app.state
    market: MarketService | None = getattr(state, "market", None)
    if market is None:
        with _build_lock:
            market = getattr(state, "market", None)
            if market is None:
                try:
                    market = state.market = build_market(state.sessions)
                except ConfigurationError as exc:  # no deployment file, or it lacks CarbonMarket
                    raise MarketUnavailableError(exc.message) from exc
    return market


def trader_address(sessions: sessionmaker[Session], principal: Principal) -> str:
    """The EVM address the calling merchant trades from."""
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    with sessions() as session:
        return merchants.get(session, principal.merchant_id).evm_address

"""The application factory: ``create_app(settings)`` wires routers, errors, limits and metrics.

Run with ``uvicorn api.app:create_app --factory``. The lifespan opens the database engine and the
session factory and disposes of them at shutdown; nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import health, keys, metrics
from api.body_limit import BodySizeLimitMiddleware
from api.carbon.endpoints import router as carbon_router
from api.credit.consents import router as consents_router
from api.credit.lender import router as lender_router
from api.docs import install_docs
from api.errors import install_error_handlers, use_envelope_in_openapi
from api.forecast.endpoints import router as forecast_router
from api.forecast.page import router as forecast_page_router
from api.liabilities.endpoints import router as liabilities_router
from api.lpui import metrics as lpui_metrics
from api.lpui.endpoints import router as lpui_router
from api.lpui.page import router as lpui_page_router
from api.market.endpoints import router as market_router
from api.merchants.endpoints import router as merchants_router
from api.monthly.endpoints import router as monthly_router
from api.monthly.page import router as monthly_page_router
from api.payments.endpoints import router as payments_router
from api.payments.precheck import PiPaymentCheck
from api.payments.queue import task_queue_for
from api.pi_callbacks.endpoints import router as pi_callbacks_router
from api.quotes.endpoints import router as quotes_router
from api.redemptions.endpoints import router as redemptions_router
from api.refunds.endpoints import router as refunds_router
from api.security_headers import SecurityHeadersMiddleware
from api.settings import ApiSettings
from api.wallets.endpoints import router as wallets_router
from api.wallets.service import ContractsCatalog
from api.webhooks.endpoints import router as webhooks_router
from audit.explorer.endpoints import STATIC_DIR as EXPLORER_STATIC
from audit.explorer.endpoints import STATIC_URL as EXPLORER_STATIC_URL
from audit.explorer.endpoints import router as explorer_router
from chain.settings import ChainSettings
from checkout.endpoints import routers as checkout_routers
from common.sql.engine import create_engine_from_url, make_sessionmaker
from portal import app as portal_app
from settlement.payments.service import PaymentService
from settlement.quotes.rates import FixedRateSource, RateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from settlement.workers.queue import TaskQueue

DESCRIPTION = """
The MSC platform's API.

**Authentication**: `Authorization: Bearer <API key>`; keys have a role (`merchant`, `operator`,
`auditor`). A merchant key only sees its merchant's objects; others answer 404.

**Money**: SEP-38 fields are decimal strings of whole units (Pi, Rupiah); every other amount is
a JSON integer of minor units (Pi: 10^-7 Pi; IDR: sen).

**Errors**: every error is `{"error": code, "message": text, "details": {...}}`.

**Retries**: POSTs accept `Idempotency-Key`; the same key and body replay the first response.
"""


def create_app(
    settings: ApiSettings | None = None,
    *,
    chain_settings: ChainSettings | None = None,
    quote_settings: QuoteSettings | None = None,
    rate_source: RateSource | None = None,
    task_queue: TaskQueue | None = None,
    pi_check: PiPaymentCheck | None = None,
) -> FastAPI:
    """Builds the API.

    Args:
        settings: API settings (default: from ``MSC_API_*``).
        chain_settings: Where the deployment file and build artifacts are (default: ``MSC_*``).
        quote_settings: Quote fee and lifetime (default: ``MSC_QUOTE_*``).
        rate_source: Where quote rates come from (default: the fixed rate of ``settings``).
        task_queue: Where settlement tasks go (default: Celery at ``MSC_BROKER_URL`` if it answers,
            else an in-process runner).
        pi_check: Checks Pi payments before they are recorded (default: from ``MSC_PI_*`` if set).

    Raises:
        ConfigurationError: invalid settings (e.g. a default secret in production).
    """
    settings = settings or ApiSettings.from_env()
    chain_settings = chain_settings or ChainSettings.from_env()
    rates = rate_source or FixedRateSource(settings.fixed_rate_idr_per_pi)
    api_metrics = metrics.ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_from_url(settings.resolved_database_url())
        app.state.sessions = make_sessionmaker(engine)
        try:
            with task_queue_for(app.state.sessions, task_queue) as app.state.tasks:
                yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="MSC platform API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs: without a CDN or inline script
        openapi_url="/openapi.json",
        redoc_url=None,  # served by install_docs too: ReDoc from the installed package, styles by nonce
    )
    app.state.settings = settings
    app.state.metrics = api_metrics
    lpui_metrics.install(app)
    app.state.contracts = ContractsCatalog(chain_settings)
    app.state.quotes = QuoteService(rates, quote_settings or QuoteSettings.from_env())
    app.state.payments = PaymentService(app.state.quotes)
    app.state.pi_check = pi_check or PiPaymentCheck.from_env()

    install_error_handlers(app)
    use_envelope_in_openapi(app)
    for router in (
        health.router,
        metrics.router,
        wallets_router,
        merchants_router,
        quotes_router,
        redemptions_router,
        refunds_router,
        payments_router,
        pi_callbacks_router,
        webhooks_router,
        carbon_router,
        keys.router,
        explorer_router,
        *checkout_routers,
        market_router,
        lpui_router,
        lpui_page_router,
        monthly_router,
        monthly_page_router,
        forecast_router,
        forecast_page_router,
        liabilities_router,
        consents_router,
        lender_router,
        *portal_app.PORTAL_ROUTERS,
    ):
        app.include_router(router)
    app.mount(EXPLORER_STATIC_URL, StaticFiles(directory=EXPLORER_STATIC), name="explorer-static")
    install_docs(app)
    portal_app.install(app, app.state.contracts)
    # Added last = outermost: metrics also times the 413s the body limit answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(metrics.MetricsMiddleware, metrics=api_metrics)
    # Outermost: every answer, the body limit's 413s included, carries the security headers.
    app.add_middleware(SecurityHeadersMiddleware)
    return app

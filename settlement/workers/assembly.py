"""Builds a worker process's context from the environment, and picks the queue the API uses.

:func:`build_context` is the default ``MSC_WORKER_CONTEXT_FACTORY``: the platform database
(``MSC_DATABASE_URL``), its step locks, and every settlement component whose settings are present.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from chain.platform import load_platform
from chain.sender import TransactionSender
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import ConfigurationError, MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.settings import DatabaseSettings
from settlement.flow.pi_flow import PiPaymentFlow
from settlement.flow.reconciler import PiReconciler
from settlement.flow.settings import FlowSettings
from settlement.minting.minter import EscrowMinter
from settlement.minting.releaser import EscrowReleaser
from settlement.payments.service import PaymentService
from settlement.pi.horizon import PiHorizon
from settlement.pi.platform_client import PiPlatformClient
from settlement.quotes.rates import Rate
from settlement.quotes.service import QuoteService, QuoteSettings
from settlement.redemption.service import RedemptionService
from settlement.webhooks.dispatcher import WebhookDispatcher
from settlement.webhooks.settings import WebhookSettings
from settlement.workers.celery_app import create_celery
from settlement.workers.context import WorkerContext
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.locking import StepLocks
from settlement.workers.queue import CeleryQueue, TaskQueue
from settlement.workers.settings import PiSettings, WorkerSettings

log = logging.getLogger(__name__)

BROKER_PING_SECONDS = 1.0


def base_context(sessions: sessionmaker[Session], settings: WorkerSettings) -> WorkerContext:
    """A context with the database and its locks, and no components yet."""
    bind = sessions.kw["bind"]
    return WorkerContext(
        sessions=sessions,
        locks=StepLocks(bind, settings.worker_lock_wait_seconds),
        stale_seconds=settings.worker_stale_seconds,
    )


class _NoPricing:
    """Workers read quotes, never price them; a worker asked for a rate is misconfigured."""

    def current_rate(self) -> Rate:
        raise ConfigurationError("settlement workers do not price quotes")


def with_components(
    context: WorkerContext, environ: Mapping[str, str], *, strict: bool = True
) -> WorkerContext:
    """``context`` with every settlement component whose settings ``environ`` provides.

    * the Pi flow and its reconciler when ``MSC_PI_API_KEY`` and ``MSC_PI_APP_ADDRESS`` are set;
    * the escrow minter and releaser when the chain signer (``MSC_SIGNER_KEY`` or a keystore) is
      set: they send from it, so it needs the escrow's depositor role and an MSC minter allowance;
    * the payout processor when ``MSC_WORKER_REDEEMER_KEY`` is set;
    * the webhook dispatcher always (it needs only the database; ``MSC_WEBHOOK_*`` tunes it).

    Args:
        strict: Raise when a configured component cannot be built (a worker process must not
            start half-configured); otherwise log it and leave the component out (an API process
            still serves, and dedicated workers do that work).

    Raises:
        MSCError: a configured component cannot be built (``strict`` only).
    """
    settings = WorkerSettings.from_env(environ)
    context.mint_batch = settings.worker_mint_batch
    context.mint_min_batch = settings.worker_mint_min_batch
    context.mint_linger_seconds = settings.worker_mint_linger_seconds
    context.webhooks = _webhooks(context.sessions, environ)
    try:
        pi = PiSettings.from_env(environ)
        if pi.configured:
            context.flow = _pi_flow(context.sessions, pi, environ)
            context.reconciler = PiReconciler(context.sessions, context.flow)
        chain = ChainSettings.from_env(environ)
        if chain.signer_key is not None or chain.keystore_path is not None:
            context.minter, context.releaser = _escrow(context.sessions, chain, settings)
        if settings.worker_redeemer_key is not None:
            redeemer = Signer.from_key(settings.worker_redeemer_key.get_secret_value())
            context.payouts = RedemptionService(
                context.sessions,
                load_platform(chain),
                redeemer,
                max_valid_seconds=settings.worker_redemption_max_valid_seconds,
            )
    except MSCError:
        if strict:
            raise
        log.warning("settlement components are not available in this process", exc_info=True)
    return context


def _webhooks(sessions: sessionmaker[Session], environ: Mapping[str, str]) -> WebhookDispatcher:
    """The dispatcher of merchants' webhooks, on the context's own database."""
    settings = WebhookSettings.from_env(environ)
    return WebhookDispatcher(
        sessions.kw["bind"],
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_attempts,
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
        lease_s=settings.lease_s,
        policy=settings.target_policy(),
    )


def _pi_flow(sessions: sessionmaker[Session], pi: PiSettings, environ: Mapping[str, str]) -> PiPaymentFlow:
    quotes = QuoteService(_NoPricing(), QuoteSettings.from_env(environ))
    platform = PiPlatformClient(pi.api_key.get_secret_value(), pi.platform_url)
    horizon = PiHorizon(pi.horizon_url, pi.network_passphrase)
    return PiPaymentFlow(
        sessions, PaymentService(quotes), platform, horizon, pi.app_address, FlowSettings.from_env(environ)
    )


def _escrow(
    sessions: sessionmaker[Session], chain: ChainSettings, settings: WorkerSettings
) -> tuple[EscrowMinter, EscrowReleaser]:
    platform = load_platform(chain)
    sender = TransactionSender(
        platform.w3, Signer.from_settings(chain), platform.decoder, receipt_timeout_s=chain.receipt_timeout_s
    )
    confirmations = settings.mint_confirmations(int(platform.w3.eth.chain_id))
    minter = EscrowMinter(
        sessions,
        platform,
        sender,
        hold_seconds=settings.worker_escrow_hold_seconds,
        confirmations=confirmations,
        confirmation_wait_s=settings.worker_confirmation_wait_seconds,
    )
    return minter, EscrowReleaser(sessions, platform, sender, confirmations=confirmations)


def build_context(environ: Mapping[str, str]) -> WorkerContext:
    """The context of a worker process (the default context factory)."""
    settings = WorkerSettings.from_env(environ)
    engine = create_engine_from_url(DatabaseSettings.from_env(environ).url)
    return with_components(base_context(make_sessionmaker(engine), settings), environ)


def api_context(
    sessions: sessionmaker[Session], settings: WorkerSettings, environ: Mapping[str, str]
) -> WorkerContext:
    """The context of an API process's in-process runner: the API's own database."""
    return with_components(base_context(sessions, settings), environ, strict=False)


def broker_answers(app: Celery, timeout: float = BROKER_PING_SECONDS) -> bool:
    """Whether the broker accepts a connection within ``timeout`` seconds."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception:  # any transport error means "no"
        return False
    return True


def select_queue(settings: WorkerSettings, context: Callable[[], WorkerContext]) -> TaskQueue:
    """Celery if a broker is configured and answers, else the in-process runner (sweeping).

    A configured broker that does not answer at start-up is logged loudly; the process still
    works, running its tasks itself, and nothing is lost (the rows are the record of the work).

    Args:
        settings: Broker and retry settings.
        context: Builds the runner's context; called only when tasks run in this process.
    """
    if not settings.embedded:
        app = create_celery(settings)
        if broker_answers(app):
            return CeleryQueue(app, settings.worker_queue)
        log.warning("broker %s does not answer; running settlement tasks in-process", settings.broker_url)
    runner = InProcessRunner(context(), settings.retry_policy(), settings.worker_threads)
    runner.start_sweeping(settings.worker_sweep_seconds)
    return runner

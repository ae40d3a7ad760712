"""The pay-backs' task, ``"paybacks.run"`` (registered in :mod:`settlement.workers.tasks`, run by
Celery beat and by the in-process sweep)."""

from __future__ import annotations

from collections.abc import Mapping
from os import environ as os_environ

from stellar_sdk import Keypair

from chain.errors import DeploymentNotFoundError
from chain.platform import load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from settlement.flow.settings import FlowSettings
from settlement.paybacks.service import PaybackService
from settlement.paybacks.settings import PaybackSettings
from settlement.pi.horizon import PiHorizon
from settlement.pi.platform_client import PiPlatformClient
from settlement.workers.context import WorkerContext
from settlement.workers.retry import StepBusyError
from settlement.workers.settings import PiSettings
from settlement.workers.steps import PAYBACKS as RUN
from settlement.workers.steps import StepResult

__all__ = ["RUN", "build_service", "run"]


def build_service(ctx: WorkerContext, environ: Mapping[str, str]) -> PaybackService | None:
    """The pay-back service the environment configures (None: Pi, the app seed or the settlement
    key is not configured in this process)."""
    pi = PiSettings.from_env(environ)
    own = PaybackSettings.from_env(environ)
    chain = ChainSettings.from_env(environ)
    if not (pi.configured and own.configured) or (chain.signer_key is None and chain.keystore_path is None):
        return None
    return PaybackService(
        ctx.sessions,
        PiPlatformClient(pi.api_key.get_secret_value(), pi.platform_url),
        PiHorizon(pi.horizon_url, pi.network_passphrase),
        Keypair.from_secret(own.app_secret.get_secret_value()),
        load_platform(chain),
        Signer.from_settings(chain),
        settings=FlowSettings.from_env(environ),
    )


def run(ctx: WorkerContext, service: PaybackService | None = None) -> StepResult:
    """Records pay-backs for new ``customer_refunds_owed`` entries and steps every unfinished one.

    One run at a time (a running one covers this ask); a crash or a second run pays and burns
    nothing twice either way (the records are written ahead), the lock only saves the work.
    """
    built = service is None
    if service is None:
        try:
            service = build_service(ctx, os_environ)
        except DeploymentNotFoundError as exc:
            return StepResult(f"skipped: no deployed platform ({exc.message})")
        if service is None:
            return StepResult("skipped: pay-backs are not configured (Pi, MSC_PAYBACKS_APP_SECRET, signer)")
    try:
        with ctx.locks.hold("paybacks", "run", wait_seconds=0):
            report = service.run_once()
    except StepBusyError:
        return StepResult("skipped: pay-backs are being run")
    finally:
        if built:  # the clients were opened for this run
            service.pi.close()
            service.horizon.close()
    return StepResult(
        f"paybacks: {report.created} recorded, {len(report.completed)} completed, "
        f"{len(report.failed)} failed, {len(report.waiting)} waiting, {report.elsewhere} at another key"
    )

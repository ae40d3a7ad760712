"""What the tasks work with: the database, the step locks and the settlement components.

The components are the other settlement packages' entry points (the Pi payment flow, the escrow
minter and releaser, the redemption service), typed here as protocols so this package only
depends on their agreed method names. A worker process builds its context once, from the
environment, with the factory named by ``MSC_WORKER_CONTEXT_FACTORY``; the API's in-process
runner is handed the context of the API process.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from common.errors import ConfigurationError
from settlement.payments.models import Payment
from settlement.workers.locking import StepLocks


class PaymentFlow(Protocol):
    """The Pi payment flow's steps (``settlement.flow.pi_flow.PiPaymentFlow``)."""

    def approve(self, payment_id: uuid.UUID) -> Payment:
        """``incomplete -> pending_user_transfer_start``; idempotent."""
        ...

    def verify_and_complete(self, payment_id: uuid.UUID) -> Payment:
        """``pending_anchor -> pending_stellar`` (or ``error``); idempotent."""
        ...

    def expire(self, payment_id: uuid.UUID, reason: str) -> Payment:
        """Cancels an unpaid payment on Pi and moves it to ``expired``; idempotent."""
        ...


class PiReconcilerLike(Protocol):
    """Recovers lost Pi callbacks and abandoned payments (``settlement.flow.reconciler.PiReconciler``)."""

    def run_once(self) -> Any:
        """One pass over the Horizon stream, stuck payments and in-flight refunds."""
        ...


class WebhookDelivery(Protocol):
    """Delivers due webhook events (``settlement.webhooks.dispatcher.WebhookDispatcher``)."""

    def run_once(self) -> Any:
        """One pass over the due deliveries."""
        ...


class Minter(Protocol):
    """Mints pending payments into the escrow (``settlement.minting.minter.EscrowMinter``)."""

    def run_once(self, max_batch: int = 500) -> Any:
        """One pass over ``pending_stellar`` payments."""
        ...


class Releaser(Protocol):
    """Releases due escrows (``settlement.minting.releaser.EscrowReleaser``)."""

    def run_once(self) -> int:
        """Releases what is due; how many."""
        ...


class PayoutProcessor(Protocol):
    """Steps a payout (``settlement.redemption.service.RedemptionService``)."""

    def process(self, payout_id: uuid.UUID) -> Any:
        """Moves the payout one step along its state machine."""
        ...

    def open_intents(self, older_than: datetime, limit: int = 1000) -> list[uuid.UUID]:
        """Redemption intents left unfinished since before ``older_than``."""
        ...

    def finish_intent(self, intent_id: uuid.UUID) -> Any:
        """Finishes a redemption intent from the chain (recorded or abandoned); idempotent."""
        ...


@dataclass
class WorkerContext:
    """Everything a task needs; components left ``None`` are not configured in this process.

    Attributes:
        sessions: Session factory of the platform database.
        locks: Step locks on the same database.
        flow: The Pi payment flow.
        reconciler: The Pi reconciler (follows Horizon's stream from its stored cursor).
        minter: The escrow minter.
        releaser: The escrow releaser.
        payouts: The payout processor.
        webhooks: The webhook dispatcher (merchants' signed event deliveries).
        stale_seconds: Age after which the sweep re-enqueues a payment's step.
        mint_batch: Largest batch one mint task deposits.
        mint_min_batch: Waiting payments that start a mint at once.
        mint_linger_seconds: Wait of the oldest waiting payment that starts a smaller mint.
    """

    sessions: sessionmaker[Session]
    locks: StepLocks
    flow: PaymentFlow | None = None
    reconciler: PiReconcilerLike | None = None
    minter: Minter | None = None
    releaser: Releaser | None = None
    payouts: PayoutProcessor | None = None
    webhooks: WebhookDelivery | None = None
    stale_seconds: float = 30.0
    mint_batch: int = 500
    mint_min_batch: int = 1
    mint_linger_seconds: float = 0.0

    def require(self, component: str) -> Any:
        """The named component.

        Raises:
            ConfigurationError: it is not configured in this process.
        """
        value = getattr(self, component)
        if value is None:
            raise ConfigurationError(f"the {component} is not configured in this worker process")
        return value


ContextFactory = Callable[[Mapping[str, str]], WorkerContext]


def load_factory(path: str) -> ContextFactory:
    """The context factory at ``module:function``.

    Raises:
        ConfigurationError: the path does not name a callable.
    """
    module_name, _, attribute = path.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"MSC_WORKER_CONTEXT_FACTORY {path!r} names no function: {exc}") from exc
    if not callable(factory):
        raise ConfigurationError(f"MSC_WORKER_CONTEXT_FACTORY {path!r} is not callable")
    return factory  # type: ignore[no-any-return]

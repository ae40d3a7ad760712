"""Settings of the task queue (``MSC_BROKER_URL`` and ``MSC_WORKER_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from common.settings import EnvSettings
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE
from settlement.workers.retry import RetryPolicy


class WorkerSettings(EnvSettings):
    """How settlement tasks are queued and retried.

    Attributes:
        broker_url: Celery broker (``redis://host:6379/0``); empty means the embedded default:
            tasks run in-process on a small thread pool of the API process.
        worker_queue: Name of the Celery queue settlement tasks go to.
        worker_max_retries: Retries of a failing task before it is left to the sweep.
        worker_backoff_seconds: First retry delay; each later one doubles, with full jitter.
        worker_backoff_max_seconds: Cap of a retry delay.
        worker_threads: Threads of the in-process runner.
        worker_sweep_seconds: How often the sweep re-enqueues work a lost message left behind.
        worker_stale_seconds: How long a payment may sit in a working status before the sweep
            re-enqueues its step (re-running a step is harmless; this only saves work).
        worker_visibility_timeout: Seconds before Redis hands an unacknowledged message (of a
            killed worker) to another worker.
        worker_lock_wait_seconds: How long a step waits for another run of the same step on the
            same row before it retries later.
        worker_context_factory: ``module:function`` building a worker process's
            :class:`~settlement.workers.context.WorkerContext` from the environment.
        worker_escrow_hold_seconds: How long minted payments are held in the escrow.
        worker_mint_batch: Most payments one mint task deposits.
        worker_mint_min_batch: A mint starts once this many payments wait to be minted (Kafka's
            ``batch.size``); 1 mints as soon as one payment is verified.
        worker_mint_linger_seconds: ...or once the oldest waiting payment has waited this long
            (Kafka's ``linger.ms``); a smaller batch waits at most this plus one sweep interval.
            Larger values mean fewer on-chain transactions and later escrow deposits.
        worker_metrics_port: A Celery worker serves its Prometheus metrics here (None: off; see
            :mod:`settlement.workers.metrics` for the prefork pool).
        worker_redeemer_key: Hex key of the redeemer (an MSC minter that receives and burns
            redeemed MSC; keep it apart from the escrow depositor); payouts are processed only
            when it is set.
    """

    env_prefix = "MSC_"

    broker_url: str = ""
    worker_queue: str = "msc-settlement"
    worker_max_retries: int = Field(default=8, ge=0)
    worker_backoff_seconds: float = Field(default=1.0, gt=0)
    worker_backoff_max_seconds: float = Field(default=60.0, gt=0)
    worker_threads: int = Field(default=2, ge=1, le=64)
    worker_sweep_seconds: float = Field(default=30.0, gt=0)
    worker_stale_seconds: float = Field(default=30.0, ge=0)
    worker_visibility_timeout: int = Field(default=300, ge=1)
    worker_lock_wait_seconds: float = Field(default=5.0, ge=0)
    worker_context_factory: str = "settlement.workers.assembly:build_context"
    worker_escrow_hold_seconds: int = Field(default=3 * 24 * 3600, ge=0)
    worker_mint_batch: int = Field(default=500, ge=1, le=500)
    worker_mint_min_batch: int = Field(default=1, ge=1)
    worker_mint_linger_seconds: float = Field(default=0.0, ge=0)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_redeemer_key: SecretStr | None = None

    def retry_policy(self) -> RetryPolicy:
        """The retry policy of the tasks (the same for Celery and the in-process runner)."""
        return RetryPolicy(
            self.worker_max_retries, self.worker_backoff_seconds, self.worker_backoff_max_seconds
        )

    @property
    def embedded(self) -> bool:
        """Whether tasks run in-process (no broker configured)."""
        return not self.broker_url


class PiSettings(EnvSettings):
    """How the platform reaches the Pi network (``MSC_PI_*``); the Pi flow runs only when set.

    Attributes:
        api_key: The app's server API key on the Pi Platform API.
        platform_url: Pi Platform API root, including ``/v2``.
        horizon_url: Pi Horizon root.
        network_passphrase: ``Pi Network`` (mainnet) or ``Pi Testnet``.
        app_address: The app wallet's public key: the only destination customers may pay.
    """

    env_prefix = "MSC_PI_"

    api_key: SecretStr = SecretStr("")
    platform_url: str = "https://api.minepi.com/v2"
    horizon_url: str = "https://api.testnet.minepi.com"
    network_passphrase: str = PI_TESTNET_PASSPHRASE
    app_address: str = ""

    @property
    def configured(self) -> bool:
        """Whether the key and the app address are set."""
        return bool(self.api_key.get_secret_value() and self.app_address)

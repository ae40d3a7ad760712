"""Settings of the task queue (``MSC_BROKER_URL`` and ``MSC_WORKER_*``)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from common.secrets import secret_refusal
from common.settings import EnvSettings
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE
from settlement.workers.retry import RetryPolicy

#: Depth a mint is booked at on any chain but the local development one (about 30 s on Polygon
#: PoS, far deeper than its usual reorgs; an operator raises it where reorgs go deeper).
PRODUCTION_MINT_CONFIRMATIONS = 12
#: The chain id of the local anvil the project starts (no reorgs unless a test makes one).
LOCAL_DEV_CHAIN_ID = 31337
#: Development accounts of anvil's public mnemonic a production key is checked against.
DEV_KEYS_CHECKED = 20

Environment = Literal["development", "production"]


def production_refusal(name: str, secret: str, *, required: bool = False) -> str | None:
    """Why the secret setting ``name`` must not be used in production (:mod:`common.secrets`), or
    None. An empty value is refused only when ``required``: an unset optional secret turns its
    component off."""
    if not secret and not required:
        return None
    problem = secret_refusal(secret)
    return None if problem is None else f"{name} is refused in production: {problem}"


def _dev_key_refusal(name: str, key: str) -> str | None:
    """Why ``key`` must not sign in production: it is a key of anvil's public mnemonic."""
    from chain.signer import dev_private_key  # deferred: deriving the keys is slow, production only

    normalized = key.lower().removeprefix("0x")
    if any(normalized == dev_private_key(i).removeprefix("0x") for i in range(DEV_KEYS_CHECKED)):
        return f"{name} is refused in production: it is a public development key (anvil's mnemonic)"
    return production_refusal(name, key, required=True)


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
        worker_redemption_max_valid_seconds: The furthest a redemption authorization's
            ``valid_before`` may lie after the chain's time. A longer-lived signature is refused
            before anything is sent (it is also what keeps ``valid_before`` inside int64).
        worker_mint_confirmations: Blocks a mint's and a deposit's block needs on top before the
            minter books the payments (a reorg shallower than this is redone, never booked).
            Unset: 0 on a local development chain (anvil's chain id 31337: the embedded default,
            the demo, the tests), else :data:`PRODUCTION_MINT_CONFIRMATIONS`.
        worker_confirmation_wait_seconds: How long one mint run waits for that depth before it
            leaves the batch open for the next run (it holds the settlement key's lock meanwhile).
        environment: The deployment's ``MSC_API_ENVIRONMENT``; ``production`` refuses to start
            with a redeemer key of anvil's public mnemonic or a published or guessable broker
            password (:mod:`common.secrets`).
    """

    env_prefix = "MSC_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

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
    worker_redemption_max_valid_seconds: int = Field(default=86_400, ge=60, le=366 * 86_400)
    worker_mint_confirmations: int | None = Field(default=None, ge=0, le=1_000)
    worker_confirmation_wait_seconds: float = Field(default=30.0, ge=0)
    environment: Environment = "development"

    @model_validator(mode="after")
    def _refuse_unsafe_secrets_in_production(self) -> Self:
        if self.environment != "production":
            return self
        password = urlsplit(self.broker_url).password if self.broker_url else None
        problems = [
            production_refusal("the broker URL's password", password or ""),
            _dev_key_refusal("worker_redeemer_key", self.worker_redeemer_key.get_secret_value())
            if self.worker_redeemer_key is not None
            else None,
        ]
        for problem in problems:
            if problem is not None:
                raise ValueError(problem)
        return self

    def mint_confirmations(self, chain_id: int) -> int:
        """The confirmation depth the minter books at on the chain ``chain_id`` (see the attribute)."""
        if self.worker_mint_confirmations is not None:
            return self.worker_mint_confirmations
        return 0 if chain_id == LOCAL_DEV_CHAIN_ID else PRODUCTION_MINT_CONFIRMATIONS

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
        environment: The deployment's ``MSC_API_ENVIRONMENT``; ``production`` refuses an API key
            published in the repository or not random (:mod:`common.secrets`). Unset, the Pi flow
            does not run.
    """

    env_prefix = "MSC_PI_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

    api_key: SecretStr = SecretStr("")
    platform_url: str = "https://api.minepi.com/v2"
    horizon_url: str = "https://api.testnet.minepi.com"
    network_passphrase: str = PI_TESTNET_PASSPHRASE
    app_address: str = ""
    environment: Environment = "development"

    @model_validator(mode="after")
    def _refuse_unsafe_api_key_in_production(self) -> Self:
        if self.environment == "production":
            problem = production_refusal("MSC_PI_API_KEY", self.api_key.get_secret_value())
            if problem is not None:
                raise ValueError(problem)
        return self

    @property
    def configured(self) -> bool:
        """Whether the key and the app address are set."""
        return bool(self.api_key.get_secret_value() and self.app_address)

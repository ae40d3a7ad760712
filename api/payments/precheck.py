"""Checks a Pi payment on the Pi platform before it is recorded, so a mismatch is refused at once.

When ``POST /v1/payments`` arrives, the Pi platform already knows the customer's payment. Reading
it there and comparing it with the quote (amount, direction, the platform's account) turns a
wrong amount into a 422 that records nothing, instead of a payment that the approval step later
moves to ``error``. The approval step checks again (a Pi payment does not change, but the check
there is the one that guards the money); this one is for the caller's benefit.
"""

from __future__ import annotations

from collections.abc import Mapping

from common.errors import ConflictError, ValidationError
from settlement.flow import checks
from settlement.pi.platform_client import PiPlatformClient
from settlement.workers.settings import PiSettings


class PiPaymentMismatchError(ValidationError):
    """The Pi payment does not match the quote it is presented with."""

    code = "pi_payment_mismatch"

    def __init__(self, pi_payment_id: str, reason: str) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id} cannot be accepted: {reason}", pi_payment_id=pi_payment_id
        )


class PiPaymentCancelledError(ConflictError):
    """The customer or the Pi platform cancelled the payment already."""

    code = "pi_payment_cancelled"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id} is cancelled on the Pi platform", pi_payment_id=pi_payment_id
        )


class PiPaymentCheck:
    """Reads a Pi payment and refuses it unless it matches the amount due.

    Args:
        platform: The app's Pi Platform API client.
        app_address: The platform's Pi account, the only destination customers may pay.
    """

    def __init__(self, platform: PiPlatformClient, app_address: str) -> None:
        self.platform = platform
        self.app_address = app_address

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PiPaymentCheck | None:
        """The check for the Pi network in ``MSC_PI_*``, or None when it is not configured."""
        settings = PiSettings.from_env(environ)
        if not settings.configured:
            return None
        return cls(
            PiPlatformClient(settings.api_key.get_secret_value(), settings.platform_url), settings.app_address
        )

    def __call__(self, pi_payment_id: str, amount: int) -> None:
        """Raises unless Pi payment ``pi_payment_id`` pays ``amount`` Pi minor units to the platform.

        Raises:
            PiPaymentMismatchError: another amount, direction or destination.
            PiPaymentCancelledError: cancelled already.
            PiPaymentNotFoundError: the Pi platform does not know the payment (404).
            PiPlatformUnavailableError: the Pi platform did not answer (503; retry).
        """
        pi = self.platform.get_payment(pi_payment_id)
        mismatch = checks.pi_payment_mismatch(
            pi, pi_payment_id=pi_payment_id, amount=amount, app_address=self.app_address
        )
        if mismatch is not None:
            raise PiPaymentMismatchError(pi_payment_id, mismatch)
        if pi.status.cancelled or pi.status.user_cancelled:
            raise PiPaymentCancelledError(pi_payment_id)

    def close(self) -> None:
        """Closes the Pi client's connections."""
        self.platform.close()

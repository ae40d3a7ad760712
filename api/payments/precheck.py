"""Checks a Pi payment on the Pi platform before it is recorded, so a mismatch is refused at once.

When ``POST /v1/payments`` arrives, the Pi platform already knows the customer's payment. Reading
it there and comparing it with the merchant and quote it is presented with
(:func:`settlement.flow.binding.check_binding`: the metadata names this merchant and quote, the
amount is the quote's, it pays the platform's account) refuses a payment meant for another
merchant, or a wrong amount, with a 4xx that records nothing. The approval step checks again (the
check there is the one that guards the money); this one keeps the record from existing at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from settlement.flow.binding import Binding, check_binding
from settlement.flow.errors import PiPaymentCancelledError, PiPaymentMismatchError, PiPaymentNotBoundError
from settlement.pi.platform_client import PiPayment, PiPlatformClient
from settlement.workers.settings import PiSettings

__all__ = ["PiPaymentCancelledError", "PiPaymentCheck", "PiPaymentMismatchError", "PiPaymentNotBoundError"]


class PiPaymentCheck:
    """Reads a Pi payment and refuses it unless it is bound to the merchant and quote presented.

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

    def __call__(self, pi_payment_id: str, binding: Binding) -> PiPayment:
        """Raises unless Pi payment ``pi_payment_id`` is bound to ``binding`` and still open.

        Raises:
            PiPaymentNotBoundError: its metadata names another merchant or quote, or none.
            PiPaymentMismatchError: another amount, direction or destination.
            PiPaymentCancelledError: cancelled already.
            PiPaymentNotFoundError: the Pi platform does not know the payment (404).
            PiPlatformUnavailableError: the Pi platform did not answer (503; retry).
        """
        return check_binding(self.platform, pi_payment_id, binding, app_address=self.app_address)

    def close(self) -> None:
        """Closes the Pi client's connections."""
        self.platform.close()

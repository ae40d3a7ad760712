"""What the customer is told, in their language, for each refusal the checkout can meet.

The platform's errors carry messages for developers; a Pioneer at a stall needs one short
sentence saying what happened and what to do. Each error ``code`` maps to a catalogue message
(marked with :func:`webui.i18n.N_` and translated when shown); an unknown code gets a general one.
"""

from __future__ import annotations

from common.errors import MSCError
from webui.i18n import N_, gettext

CUSTOMER_MESSAGES: dict[str, str] = {
    "pi_payment_mismatch": N_(
        "The payment in your Pi wallet does not match this price. Nothing was charged; please start again."
    ),
    "pi_payment_not_bound": N_(
        "This Pi payment was not made for this merchant and price. Nothing was charged; please start again."
    ),
    "pi_payment_cancelled": N_("This Pi payment was cancelled. Nothing was charged."),
    "quote_expired": N_("The price expired before you paid. Nothing was charged; a new price is shown."),
    "quote_already_used": N_("This price was already used for a payment."),
    "payment_request_paid": N_("This payment request has already been paid. You do not need to pay again."),
    "payment_request_in_progress": N_("Someone is paying this request right now. Please wait a moment."),
    "payment_request_expired": N_("This payment request has expired. Ask the merchant for a new one."),
    "payment_request_cancelled": N_("The merchant withdrew this payment request."),
    "payment_request_not_found": N_("This payment request does not exist."),
    "merchant_not_found": N_("This merchant is not known to the platform."),
    "merchant_suspended": N_(
        "This merchant cannot take payments right now. Nothing was charged; please pay another way."
    ),
    "checkout_quote_not_found": N_(
        "This price is not known. Please start again from the merchant's QR code."
    ),
    "checkout_link_not_found": N_("This link is not known. Please scan the merchant's QR code again."),
    "payment_not_found": N_("This payment is not known."),
    "checkout_payment_not_found": N_("This payment is not known."),
    "pi_sign_in_refused": N_("Pi did not accept your sign-in. Please sign in with Pi again."),
    "pi_platform_unavailable": N_(
        "Pi cannot be reached right now. Nothing was charged; please try again shortly."
    ),
    "pi_horizon_unavailable": N_("The Pi ledger cannot be reached right now. Please try again shortly."),
    "pi_payment_not_found": N_("Pi does not know this payment."),
    "pi_transaction_not_linked": N_("Your Pi transaction is not confirmed by Pi yet. Please try again."),
    "checkout_payment_refused": N_(
        "The payment could not be accepted. Nothing was credited; please start again."
    ),
    "checkout_unavailable": N_("Paying with Pi is not available right now."),
    "txid_already_used": N_("This Pi transaction has already paid another payment."),
    "payment_txid_mismatch": N_("Another Pi transaction is already recorded for this payment."),
    "invalid_transition": N_("This payment cannot take that step now."),
    "validation_error": N_("Please check what you entered."),
    "request_validation_failed": N_("Please check what you entered."),
    "rate_unavailable": N_("No Pi price is available right now. Please try again shortly."),
    "csrf_failed": N_("Your session expired. Please reload the page."),
}
GENERAL = N_("Something went wrong. Nothing was charged twice; please try again.")


def customer_message(error: MSCError | str, language: str) -> str:
    """The customer's sentence for ``error`` (or its code) in ``language``."""
    code = error if isinstance(error, str) else error.code
    return gettext(language, CUSTOMER_MESSAGES.get(code, GENERAL))

"""Timing and batching of the Pi flow (``MSC_PI_FLOW_*``)."""

from __future__ import annotations

from pydantic import Field

from common.settings import EnvSettings


class FlowSettings(EnvSettings):
    """How long a customer may take to pay, when a payment counts as stuck, how refunds are sent.

    Attributes:
        payment_grace_seconds: Seconds after the quote's expiry in which the customer's Pi
            transaction is still accepted (the quote was firm when the payment was approved).
            Past ``quote.expires_at + grace`` an unpaid payment is cancelled and a late
            transaction is refused.
        stuck_after_seconds: A payment untouched this long between approval and completion is
            examined by the reconciler.
        stream_page_size: Horizon records read per page when following the payment stream.
        sweep_batch: Stuck payments examined per reconciler run.
        refund_timeout_seconds: Time bounds of a refund transaction: short, so an unanswered
            submission becomes a definite outcome quickly.
    """

    env_prefix = "MSC_PI_FLOW_"

    payment_grace_seconds: int = Field(default=60, ge=0)
    stuck_after_seconds: int = Field(default=30, ge=0)
    stream_page_size: int = Field(default=50, ge=1, le=200)
    sweep_batch: int = Field(default=100, ge=1)
    refund_timeout_seconds: int = Field(default=60, ge=5)

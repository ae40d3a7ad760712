"""Paying customers back in Pi for the MSC the escrow returned to the platform, and burning that MSC.

Every escrow outcome that pays MSC back to the payer of record (a merchant's refund, the payer's
share of a dispute, a dispute decided by default, the guarantee fund's cover) is booked by
:mod:`settlement.escrowbooks` as ``customer_refunds_owed``. This package turns each such entry
into one pay-back: Pi sent from the app wallet to the customer who paid, then the MSC burned, each
step written ahead so nothing is paid or burned twice (see :mod:`settlement.paybacks.service`).
"""

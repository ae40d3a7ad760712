"""The Pi user-to-app payment flow, its reconciler, and Pi refunds (app-to-user payouts).

* :mod:`settlement.flow.pi_flow` — ``PiPaymentFlow``: approve, record the txid, verify on Horizon,
  complete on Pi and credit the ledger (``incomplete -> ... -> pending_stellar``), or refuse.
* :mod:`settlement.flow.checks` — the verification rules as pure functions.
* :mod:`settlement.flow.reconciler` — ``PiReconciler.run_once``: the Horizon payment stream from a
  stored cursor, stuck payments recovered (txid by memo) or cancelled, refunds resumed.
* :mod:`settlement.flow.refunds` — ``PiRefundService``: app-to-user payouts returning refused Pi.
* :mod:`settlement.flow.models`, :mod:`settlement.flow.cursor` — their SQL (migration 0007).
"""

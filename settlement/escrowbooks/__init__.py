"""The settlement books follow every escrow outcome, whoever caused it on-chain.

Merchants refund, payers dispute, the arbiter splits, anyone settles an expired dispute or releases
after the hold, the operator covers a refund from the guarantee fund: none of these pass through
the settlement service, so the books learn them from the indexer's mirror (``decoded_events``),
at the confirmation depth, in log order, from a stored cursor; each outcome is posted once under
the key of the event that reported it (see :mod:`settlement.ledger.flows`).
"""

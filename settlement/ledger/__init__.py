"""Double-entry ledger of the settlement flows, in SQL.

Accounts hold nothing themselves: every movement is a journal entry of at least two postings in
one currency whose amounts sum to zero (debits positive, credits negative), and a balance is the
sum of an account's postings, optionally up to an entry id or a point in time. Entries are
idempotent by an external key. ``flows`` maps each business movement to its entries.
"""

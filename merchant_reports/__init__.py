"""A merchant's reports: the monthly statement (from the settlement ledger), the payments export
and the printable QR poster, each rendered as CSV or PDF for the portal.

Figures are exact integers of minor units (sen, 10^-7 Pi) read from the books; only the renderers
turn them into ``Rp 12.000`` text, next to the exact integers, so a bookkeeper's spreadsheet and
the city's PHR (restaurant tax) office read the same numbers the public ledger holds.
"""

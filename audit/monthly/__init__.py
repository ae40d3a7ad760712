"""The monthly public report (issue #15): every figure of one Asia/Jakarta month at its end block.

:mod:`audit.monthly.period` finds the month's bounds and end block, :mod:`audit.monthly.build`
computes the figures from the mirror and the books, :mod:`audit.monthly.store` keeps each month's
report write-once (``monthly_reports``), :mod:`audit.monthly.cli` is ``python -m audit monthly``.
"""

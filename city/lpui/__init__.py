"""LPUI: the command centre's per-kelurahan index of payment activity, computed from the books.

For each kelurahan and Asia/Jakarta day: the trailing window's (default 30 days) average daily
count and value of settled payments, each min-max normalised across all 27 kelurahan, weighted
0.6 (count) and 0.4 (value). See :mod:`city.lpui.compute` for the exact arithmetic and
:mod:`city.lpui.models` for what is stored.
"""

"""Reserve reconciliation: the mirror, the settlement books and the chain must tell one story.

``reconcile_once`` (in :mod:`audit.reconcile.runner`) runs every check of
:mod:`audit.reconcile.checks` at one block, stores each result and alerts on failures.
"""

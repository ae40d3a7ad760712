"""How hard the property tests search: a quick run locally, a thorough one on CI (CI=true)."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").lower() == "true"

#: Examples per stateful property test, and steps per example. CI runs 600 steps per contract
#: (twice the local run): the six contracts' machines then take about 2 minutes alone (10 at 40 x 35),
#: keeping `make test` well inside CI's 90 minutes as the suite grows.
STATEFUL_EXAMPLES = 20 if IN_CI else 12
STATEFUL_STEPS = 30 if IN_CI else 25


def block_time() -> int:
    """The chain's own clock: the latest block's timestamp (the next block's is later).

    Deadlines in tests are built from this, not from Brownie's ``chain.time()``, which adds a
    local offset that anvil's clock does not share after a snapshot is reverted.
    """
    from brownie import chain

    return int(chain[-1].timestamp)

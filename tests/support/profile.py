"""How hard the property tests search: a quick run locally, a thorough one on CI (CI=true)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() == "true"

#: Examples per stateful property test, and steps per example. CI runs 600 steps per contract
#: (twice the local run): the six contracts' machines then take about 2 minutes alone (10 at 40 x 35),
#: keeping `make test` well inside CI's 90 minutes as the suite grows.
STATEFUL_EXAMPLES = 20 if IN_CI else 12
STATEFUL_STEPS = 30 if IN_CI else 25


def stateful_settings() -> settings:
    """Settings for a contract's stateful property test: the size above, no deadline (a step is a
    few transactions on a real node), and no health check on example size or speed.

    Hypothesis counts a run that draws past its byte budget as an overrun and fails the whole test
    when many do (``data_too_large``); a machine of 30 steps with six integers per step overran on
    CI while every property held. An overrun is discarded, not run, so the check only ever fails a
    good run; likewise ``too_slow`` measures the node, not the properties.

    No example database: with one, Hypothesis keeps a Pareto front of examples and, once half the
    examples have run, "optimises" it by shrinking front members, which reruns the machine up to
    its call budget (ten times ``max_examples``). A profile of the suite on CI (py-spy) showed the
    escrow machine spending its time there, which is why the contract tests took ~30 min inside the
    suite instead of ~5. A failure is still shrunk and printed; it is just not replayed from disk.
    """
    return settings(
        max_examples=STATEFUL_EXAMPLES,
        stateful_step_count=STATEFUL_STEPS,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.data_too_large, HealthCheck.too_slow],
    )


def block_time() -> int:
    """The chain's own clock: the latest block's timestamp (the next block's is later).

    Deadlines in tests are built from this, not from Brownie's ``chain.time()``, which adds a
    local offset that anvil's clock does not share after a snapshot is reverted.
    """
    from brownie import chain

    return int(chain[-1].timestamp)

"""Fixtures of the Pi flow tests (defined in tests/settlement/flow/support.py)."""

from tests.settlement.flow.support import env, flow_db, peer

__all__ = ["env", "flow_db", "peer"]

"""Fixtures: a fresh local Pi peer per test (defined in tests/support/pi_peer.py)."""

from tests.support.pi_peer import API_KEY, app_keypair, control, horizon_server, peer

__all__ = ["API_KEY", "app_keypair", "control", "horizon_server", "peer"]

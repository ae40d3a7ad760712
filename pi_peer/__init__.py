"""A local peer of Pi Network's services, for tests and demos where the real ones are unreachable.

It speaks the documented Pi Platform API (``/v2``) and enough of Pi's Horizon (a Stellar Horizon
fork) for stellar-sdk's ``Server`` to work unchanged, over one in-memory ledger that applies real
signed transaction envelopes. Failures can be injected to exercise clients' retry paths.
"""

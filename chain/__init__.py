"""Talking to the platform's contracts from Python with web3.py.

Connect to any JSON-RPC endpoint (:mod:`chain.connection`), find the contracts from Brownie's
build artifacts and the per-network deployment file (:mod:`chain.artifacts`,
:mod:`chain.deployments`, :mod:`chain.platform`), sign with a local key or keystore
(:mod:`chain.signer`), send with correct nonces and turn reverts into typed errors that carry the
contract's custom error name (:mod:`chain.sender`, :mod:`chain.revert`). :mod:`chain.localnode`
starts the embedded anvil node.
"""

"""Connecting to an EVM JSON-RPC endpoint."""

from __future__ import annotations

from web3 import HTTPProvider, Web3

from chain.errors import ChainConnectionError


def connect(rpc_url: str, *, expected_chain_id: int | None = None, timeout_s: float = 30.0) -> Web3:
    """Returns a Web3 bound to ``rpc_url`` after checking that the node answers.

    Args:
        rpc_url: HTTP(S) JSON-RPC endpoint.
        expected_chain_id: When given, a node on another chain is refused (a wallet's
            replay protection starts with talking to the right chain).
        timeout_s: Per-request timeout.

    Raises:
        ChainConnectionError: the node does not answer, or answers for another chain.
    """
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # any transport failure means "unreachable" to the caller
        raise ChainConnectionError(f"cannot reach the EVM node at {rpc_url}: {exc}", rpc_url=rpc_url) from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainConnectionError(
            f"the node at {rpc_url} is chain {chain_id}, expected {expected_chain_id}",
            rpc_url=rpc_url,
            chain_id=chain_id,
        )
    return w3

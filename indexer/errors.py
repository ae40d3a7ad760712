"""Errors of the indexer, all under :class:`common.errors.MSCError`."""

from __future__ import annotations

from chain.errors import ChainError
from common.errors import ConflictError, MSCError


class IndexerError(MSCError):
    """Something stopped the indexer."""

    code = "indexer_error"
    status_code = 500


class RpcError(ChainError):
    """The node answered a JSON-RPC call with an error object.

    Attributes:
        rpc_code: the JSON-RPC error code.
        method: the method called.
    """

    code = "rpc_error"

    def __init__(self, method: str, rpc_code: int, message: str) -> None:
        super().__init__(f"{method} failed: {message} (code {rpc_code})", method=method, rpc_code=rpc_code)
        self.method = method
        self.rpc_code = rpc_code
        self.rpc_message = message


class RpcUnavailableError(ChainError):
    """The node did not answer usefully after every retry (timeouts, HTTP errors, bad JSON)."""

    code = "rpc_unavailable"
    status_code = 503


class RangeTooLargeError(RpcError):
    """The node refused an eth_getLogs range as too large or too many results."""

    code = "rpc_range_too_large"


class DecodeError(IndexerError):
    """A log could not be decoded with its contract's ABI; it is kept raw and reported."""

    code = "log_undecodable"


class ChainChangedError(IndexerError):
    """The chain changed while a range was being fetched (a reorg mid-fetch); the range is retried."""

    code = "chain_changed"


class ProjectionError(IndexerError):
    """A derived table would become impossible (e.g. a negative balance): the mirror is inconsistent."""

    code = "projection_inconsistent"


class CheckpointMovedError(ConflictError):
    """Another indexer moved this stream's checkpoint concurrently; this one stops."""

    code = "indexer_checkpoint_moved"

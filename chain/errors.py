"""Errors of the chain layer, all under :class:`common.errors.MSCError`."""

from __future__ import annotations

from typing import Any

from common.errors import ConfigurationError, MSCError


class ChainError(MSCError):
    """Something went wrong talking to the EVM node."""

    code = "chain_error"
    status_code = 502


class ChainConnectionError(ChainError):
    """The JSON-RPC endpoint cannot be reached or is not the chain expected."""

    code = "chain_unreachable"
    status_code = 503


class ToolchainMissingError(ConfigurationError):
    """A local tool (anvil, the solc shim, build artifacts) is missing; says which command installs it."""

    code = "toolchain_missing"


class DeploymentNotFoundError(ConfigurationError):
    """No deployment file for the network, or it lacks the contract asked for."""

    code = "deployment_not_found"


class StaleDeploymentError(ConfigurationError):
    """The deployment file describes another chain (a restarted dev node, another network)."""

    code = "deployment_stale"


class ContractRevertError(ChainError):
    """A call or transaction reverted; ``error_name`` is the contract's custom error.

    Attributes:
        error_name: e.g. ``"MSCAccountFrozen"``, ``"Error"`` for a string reason, ``"Panic"``.
        args: the error's arguments by name (addresses checksummed, integers exact).
        tx_hash: the mined transaction's hash when it reverted on-chain, else None.
    """

    code = "contract_reverted"
    status_code = 422

    def __init__(
        self, error_name: str, args: dict[str, Any], *, tx_hash: str | None = None, raw: str = ""
    ) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        super().__init__(f"contract reverted with {error_name}({shown})", error_name=error_name)
        self.error_name = error_name
        self.args_by_name = args
        self.tx_hash = tx_hash
        self.raw = raw


class TransactionNotMinedError(ChainError):
    """A sent transaction was not mined within the timeout; it may still be mined later."""

    code = "transaction_not_mined"
    status_code = 504

"""Sending transactions: correct nonces, a gas estimate that doubles as a dry run, receipts,
and reverts as typed errors.

A transaction that would revert is caught by the gas estimate and never sent, so bad input costs
nothing and changes nothing. One that reverts on-chain anyway (state changed in between) is
replayed with ``eth_call`` at its block to recover the custom error.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.types import TxParams, TxReceipt, Wei

from chain.errors import ChainError, ContractRevertError, TransactionNotMinedError
from chain.revert import RevertDecoder
from chain.signer import Signer


class NonceManager:
    """Hands out nonces for one sender, safe across threads.

    The next nonce is the larger of the node's pending count and the last one handed out plus
    one, so concurrent sends from this process never collide and a restart picks up from the
    node. After a failed send the local counter is dropped and re-read from the node.
    """

    def __init__(self, w3: Web3, address: str) -> None:
        self._w3 = w3
        self._address = Web3.to_checksum_address(address)
        self._lock = threading.Lock()
        self._next: int | None = None

    def reserve(self) -> int:
        """The nonce for the next transaction."""
        with self._lock:
            pending = self._w3.eth.get_transaction_count(self._address, "pending")
            nonce = pending if self._next is None else max(pending, self._next)
            self._next = nonce + 1
            return nonce

    def reset(self) -> None:
        """Forgets the local counter (after a send that did not reach the pool)."""
        with self._lock:
            self._next = None


class TransactionSender:
    """Signs and sends contract calls from one signer and waits for their receipts."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        decoder: RevertDecoder,
        *,
        receipt_timeout_s: float = 120.0,
        gas_buffer_pct: int = 20,
    ) -> None:
        self._w3 = w3
        self._signer = signer
        self._decoder = decoder
        self._nonces = NonceManager(w3, signer.address)
        self._timeout = receipt_timeout_s
        self._gas_buffer_pct = gas_buffer_pct

    @property
    def address(self) -> str:
        """The sending address."""
        return self._signer.address

    @property
    def signer(self) -> Signer:
        """The signing key (for callers that write a signed transaction ahead of sending it)."""
        return self._signer

    def reset_nonces(self) -> None:
        """Re-reads the next nonce from the node (after a reorg dropped sent transactions)."""
        self._nonces.reset()

    def transact(self, fn: ContractFunction, *, value: int = 0) -> TxReceipt:
        """Sends ``fn`` as a transaction and returns its successful receipt.

        Raises:
            ContractRevertError: it would revert (nothing sent) or reverted on-chain.
            TransactionNotMinedError: no receipt within the timeout.
        """
        params: TxParams = {"from": self._signer.address, "value": Wei(value)}
        try:
            gas = fn.estimate_gas(params)
        except ContractLogicError as exc:
            raise self._decoder.decode(_revert_data(exc)) from exc
        params["gas"] = gas * (100 + self._gas_buffer_pct) // 100
        return self._send(dict(fn.build_transaction(params)))

    def _send(self, tx: dict[str, Any]) -> TxReceipt:
        tx["nonce"] = self._nonces.reserve()
        signed = self._signer.sign_transaction(tx)
        try:
            tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            self._nonces.reset()
            raise ChainError(f"the node refused the transaction: {exc}") from exc
        try:
            receipt = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout)
        except TimeExhausted as exc:
            raise TransactionNotMinedError(
                f"transaction {tx_hash.to_0x_hex()} not mined within {self._timeout}s",
                tx_hash=tx_hash.to_0x_hex(),
            ) from exc
        if receipt["status"] != 1:
            raise self._replay_revert(tx, receipt)
        return receipt

    def _replay_revert(self, tx: dict[str, Any], receipt: TxReceipt) -> ContractRevertError:
        """Recovers the custom error of a transaction that reverted on-chain."""
        call = cast(TxParams, {k: tx[k] for k in ("from", "to", "data", "value") if k in tx})
        tx_hash = receipt["transactionHash"].to_0x_hex()
        try:
            self._w3.eth.call(call, block_identifier=receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return self._decoder.decode(_revert_data(exc), tx_hash=tx_hash)
        return ContractRevertError(
            "Unknown", {"reason": "reverted on-chain; replay succeeded"}, tx_hash=tx_hash
        )


def _revert_data(exc: ContractLogicError) -> str | None:
    """The revert payload web3.py attached to the error, if any."""
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None

"""Write-ahead transactions: signed, stored, then broadcast, so a restart resends the same one.

For an action with no on-chain key of its own (a burn of the redeemer's balance, a re-issue by
mint), "did it happen?" cannot be read from the chain's state. Its signed raw transaction is
therefore committed to SQL before it is broadcast; after a crash the stored transaction (same
hash, same nonce) is looked up and, if it was never mined, broadcast again. It can be mined at
most once, so the action happens at most once. Callers hold the sender lock of the key, so no
other transaction of the key takes the nonce in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import HexStr
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound
from web3.types import TxParams, TxReceipt, Wei

from chain.errors import ChainError, ContractRevertError, TransactionNotMinedError
from chain.revert import RevertDecoder
from chain.signer import Signer

GAS_BUFFER_PCT = 20


@dataclass(frozen=True)
class SignedCall:
    """A signed transaction not yet known to be mined."""

    tx_hash: str
    raw: str


def sign_call(w3: Web3, signer: Signer, decoder: RevertDecoder, fn: ContractFunction) -> SignedCall:
    """Signs ``fn`` with the key's next nonce after a dry run.

    Raises:
        ContractRevertError: the dry run reverts (nothing is signed).
    """
    params: TxParams = {"from": signer.address, "value": Wei(0)}
    try:
        gas = fn.estimate_gas(params)
    except ContractLogicError as exc:
        data = exc.data.get("data") if isinstance(exc.data, dict) else exc.data
        raise decoder.decode(data if isinstance(data, str) else None) from exc
    params["gas"] = gas * (100 + GAS_BUFFER_PCT) // 100
    params["nonce"] = w3.eth.get_transaction_count(Web3.to_checksum_address(signer.address), "pending")
    signed = signer.sign_transaction(dict(fn.build_transaction(params)))
    return SignedCall(signed.hash.to_0x_hex(), signed.raw_transaction.to_0x_hex())


def receipt_of(w3: Web3, tx_hash: str) -> TxReceipt | None:
    """The receipt of ``tx_hash`` if it was mined."""
    try:
        return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return None


def broadcast(w3: Web3, call: SignedCall, timeout_s: float = 120.0) -> TxReceipt | None:
    """Makes sure ``call`` is mined: its receipt if it was, else sends it and waits.

    Returns:
        The receipt (successful or not), or None when the transaction can never be mined (its
        nonce was taken by another transaction): the action did not happen and may be re-signed.

    Raises:
        TransactionNotMinedError: sent but not mined within the timeout (it may still be).
    """
    receipt = receipt_of(w3, call.tx_hash)
    if receipt is not None:
        return receipt
    try:
        w3.eth.send_raw_transaction(HexStr(call.raw))
    except Exception as exc:  # "nonce too low" / "already known": mined or pending meanwhile?
        receipt = receipt_of(w3, call.tx_hash)
        if receipt is not None:
            return receipt
        if "nonce" in str(exc).lower() and "low" in str(exc).lower():
            return None
        if "already" not in str(exc).lower():
            raise ChainError(f"the node refused transaction {call.tx_hash}: {exc}") from exc
    try:
        return w3.eth.wait_for_transaction_receipt(call.tx_hash, timeout=timeout_s)  # type: ignore[arg-type]
    except TimeExhausted as exc:
        raise TransactionNotMinedError(
            f"transaction {call.tx_hash} not mined within {timeout_s}s", tx_hash=call.tx_hash
        ) from exc


def require_success(receipt: TxReceipt, what: str) -> None:
    """Raises :class:`ContractRevertError` if ``receipt`` reverted."""
    if receipt["status"] != 1:
        raise ContractRevertError(
            "Unknown", {"reason": f"{what} reverted on-chain"}, tx_hash=receipt["transactionHash"].to_0x_hex()
        )

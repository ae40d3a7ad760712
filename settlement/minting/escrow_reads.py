"""Reading many escrow records at once: one JSON-RPC batch of ``eth_call`` per chunk of ids.

Recovery and release read the escrow's record of every payment of a batch (hundreds). One call
per id through web3's contract layer costs tens of milliseconds each; a raw JSON-RPC batch at one
block costs about two milliseconds per id and sees one consistent state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from chain.errors import ChainError

_SELECTOR = function_signature_to_4byte_selector("getPayment(bytes32)")
_RECORD = "(address,uint96,address,uint40,uint40,uint8,uint96)"
CHUNK = 250
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class EscrowRecord:
    """``IMerchantEscrow.Payment`` of one id."""

    merchant: str
    amount: int
    payer: str
    release_after: int
    status: int
    """0 None, 1 Held, 2 Disputed, 3 Released, 4 Refunded, 5 Split."""


def read_escrow_records(
    w3: Web3, escrow: str, ids: Sequence[bytes], at_block: int | None = None
) -> list[EscrowRecord]:
    """``getPayment`` of each id, in order, all at the same block (``at_block``, default the head:
    the minter reads at the head minus its confirmation depth to book only final deposits).

    Raises:
        ChainError: the node answered an error.
    """
    block = hex(w3.eth.block_number if at_block is None else at_block)
    records: list[EscrowRecord] = []
    for start in range(0, len(ids), CHUNK):
        calls: list[tuple[str, Any]] = [
            ("eth_call", [{"to": escrow, "data": "0x" + (_SELECTOR + key).hex()}, block])
            for key in ids[start : start + CHUNK]
        ]
        answers: Any = w3.provider.make_batch_request(calls)  # type: ignore[attr-defined]
        if not isinstance(answers, list):
            raise ChainError(f"the node refused a batch of escrow reads: {answers}")
        for answer in sorted(answers, key=lambda a: int(a["id"])):
            if "error" in answer:
                raise ChainError(f"reading the escrow failed: {answer['error']}")
            if answer["result"] in ("0x", None):  # no code at that block: nothing held there yet
                records.append(EscrowRecord(ZERO, 0, ZERO, 0, 0))
                continue
            merchant, amount, payer, release_after, _deadline, status, _covered = decode(
                [_RECORD], bytes.fromhex(answer["result"][2:])
            )[0]
            records.append(
                EscrowRecord(
                    Web3.to_checksum_address(merchant),
                    int(amount),
                    Web3.to_checksum_address(payer),
                    int(release_after),
                    int(status),
                )
            )
    return records

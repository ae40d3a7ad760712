"""Horizon's JSON shapes for the peer's ledger records (accounts, transactions, operations, pages).

Field names and types follow Horizon's resource documentation (developers.stellar.org, "Horizon
API reference": Account, Transaction, Operation/Payment, Ledger, Problem, pagination with
``_links`` and ``_embedded.records``); amounts are 7-decimal strings, ids/paging tokens are
TOID strings, sequence numbers are strings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pi_peer.ledger import (
    AccountState,
    Ledger,
    LedgerHeader,
    OperationRecord,
    TransactionRecord,
    iso,
    stroops_to_str,
)

NOT_FOUND_DETAIL = (
    "The resource at the url requested was not found.  This usually occurs for one of two reasons:  "
    "The url requested is not valid, or no data in our database could be found with the parameters provided."
)


def href(base: str, path: str, **query: str) -> dict[str, Any]:
    """A Horizon ``_links`` entry."""
    url = base.rstrip("/") + "/" + path.lstrip("/")
    if query:
        url += "?" + urlencode(query)
    return {"href": url}


def problem(
    status: int, kind: str, title: str, detail: str, extras: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Horizon's problem+json error document."""
    body: dict[str, Any] = {
        "type": f"https://stellar.org/horizon-errors/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extras is not None:
        body["extras"] = extras
    return body


def account_view(base: str, acc: AccountState, ledger: Ledger) -> dict[str, Any]:
    """``GET /accounts/{id}``."""
    return {
        "_links": {
            "self": href(base, f"accounts/{acc.account_id}"),
            "transactions": {**href(base, f"accounts/{acc.account_id}/transactions"), "templated": False},
            "operations": href(base, f"accounts/{acc.account_id}/operations"),
            "payments": href(base, f"accounts/{acc.account_id}/payments"),
        },
        "id": acc.account_id,
        "account_id": acc.account_id,
        "sequence": str(acc.sequence),
        "sequence_ledger": acc.last_modified_ledger,
        "sequence_time": str(acc.last_modified_time),
        "subentry_count": acc.subentry_count,
        "last_modified_ledger": acc.last_modified_ledger,
        "last_modified_time": iso(acc.last_modified_time),
        "thresholds": {"low_threshold": 0, "med_threshold": 0, "high_threshold": 0},
        "flags": {
            "auth_required": False,
            "auth_revocable": False,
            "auth_immutable": False,
            "auth_clawback_enabled": False,
        },
        "balances": [
            {
                "balance": stroops_to_str(acc.balance),
                "buying_liabilities": "0.0000000",
                "selling_liabilities": "0.0000000",
                "asset_type": "native",
            }
        ],
        "signers": [{"weight": 1, "key": acc.account_id, "type": "ed25519_public_key"}],
        "data": {},
        "num_sponsoring": 0,
        "num_sponsored": 0,
        "paging_token": acc.account_id,
    }


def transaction_view(base: str, tx: TransactionRecord) -> dict[str, Any]:
    """A Horizon transaction resource."""
    body: dict[str, Any] = {
        "_links": {
            "self": href(base, f"transactions/{tx.hash}"),
            "account": href(base, f"accounts/{tx.source_account}"),
            "ledger": href(base, f"ledgers/{tx.ledger}"),
            "operations": {
                **href(base, f"transactions/{tx.hash}/operations{{?cursor,limit,order}}"),
                "templated": True,
            },
            "effects": {
                **href(base, f"transactions/{tx.hash}/effects{{?cursor,limit,order}}"),
                "templated": True,
            },
            "precedes": href(base, "transactions", order="asc", cursor=str(tx.paging_token)),
            "succeeds": href(base, "transactions", order="desc", cursor=str(tx.paging_token)),
            "transaction": href(base, f"transactions/{tx.hash}"),
        },
        "id": tx.hash,
        "paging_token": str(tx.paging_token),
        "successful": tx.successful,
        "hash": tx.hash,
        "ledger": tx.ledger,
        "created_at": iso(tx.closed_at),
        "source_account": tx.source_account,
        "source_account_sequence": str(tx.sequence),
        "fee_account": tx.source_account,
        "fee_charged": str(tx.fee_charged),
        "max_fee": str(tx.max_fee),
        "operation_count": len(tx.operations),
        "envelope_xdr": tx.envelope_xdr,
        "result_xdr": tx.result_xdr,
        "memo_type": tx.memo_type,
        "signatures": list(tx.signatures),
    }
    if tx.memo is not None:
        body["memo"] = tx.memo
    if tx.memo_bytes is not None:
        body["memo_bytes"] = tx.memo_bytes
    if tx.min_time is not None and tx.max_time is not None:
        body["valid_after"] = iso(tx.min_time)
        if tx.max_time:
            body["valid_before"] = iso(tx.max_time)
        body["preconditions"] = {"timebounds": {"min_time": str(tx.min_time), "max_time": str(tx.max_time)}}
    return body


def operation_view(base: str, op: OperationRecord) -> dict[str, Any]:
    """A Horizon operation resource (``payment`` / ``create_account``)."""
    return {
        "_links": {
            "self": href(base, f"operations/{op.id}"),
            "transaction": href(base, f"transactions/{op.tx_hash}"),
            "effects": href(base, f"operations/{op.id}/effects"),
            "succeeds": href(base, "effects", order="desc", cursor=str(op.id)),
            "precedes": href(base, "effects", order="asc", cursor=str(op.id)),
        },
        "id": str(op.id),
        "paging_token": str(op.id),
        "transaction_successful": op.successful,
        "source_account": op.source_account,
        "type": op.type,
        "type_i": op.type_i,
        "created_at": iso(op.closed_at),
        "transaction_hash": op.tx_hash,
        **op.fields,
    }


def ledger_view(base: str, header: LedgerHeader, ledger: Ledger, total_coins: int) -> dict[str, Any]:
    """A Horizon ledger resource (enough for ``fetch_base_fee``)."""
    return {
        "_links": {"self": href(base, f"ledgers/{header.sequence}")},
        "id": header.hash,
        "paging_token": str(header.sequence << 32),
        "hash": header.hash,
        "prev_hash": header.prev_hash,
        "sequence": header.sequence,
        "successful_transaction_count": header.tx_count,
        "failed_transaction_count": header.failed_tx_count,
        "operation_count": header.operation_count,
        "tx_set_operation_count": header.operation_count,
        "closed_at": iso(header.closed_at),
        "total_coins": stroops_to_str(total_coins),
        "fee_pool": "0.0000000",
        "base_fee_in_stroops": ledger.base_fee,
        "base_reserve_in_stroops": ledger.base_reserve,
        "max_tx_set_size": 1,
        "protocol_version": 19,
    }


def page_view(
    base: str, path: str, records: list[dict[str, Any]], *, cursor: str, order: str, limit: int
) -> dict[str, Any]:
    """A Horizon collection page with self/next/prev links."""
    last = records[-1]["paging_token"] if records else cursor
    first = records[0]["paging_token"] if records else cursor
    reverse = "desc" if order == "asc" else "asc"
    return {
        "_links": {
            "self": href(base, path, cursor=cursor, limit=str(limit), order=order),
            "next": href(base, path, cursor=last, limit=str(limit), order=order),
            "prev": href(base, path, cursor=first, limit=str(limit), order=reverse),
        },
        "_embedded": {"records": records},
    }

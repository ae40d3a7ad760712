"""Every table the explorer shows, by name: its columns, default order and how its rows are read.

A page embeds tables by name and ``/explorer/export/<name>.csv|json`` exports the same table with
the same filters and order, so what a citizen downloads is exactly what the page lists (all
pages of it). Filters come from the query string: ``address``, ``tx``, ``block``, ``token_id``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from audit.explorer import queries
from audit.explorer.queries import AsOf
from audit.explorer.tables import Column, Kind, Page, PageRequest, Row, page_of_rows, page_of_select
from common.errors import NotFoundError, ValidationError
from webui.i18n import N_

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")

Fetch = Callable[[Connection, AsOf, Mapping[str, str], PageRequest], Page]


@dataclass(frozen=True)
class TableDef:
    """A named table: heading, columns, and the function that reads one page of it."""

    name: str
    title: str
    columns: tuple[Column, ...]
    fetch: Fetch
    filters: tuple[str, ...] = ()
    """Query-string filters the table takes (and exports carry)."""


def address_filter(filters: Mapping[str, str], required: bool = False) -> str | None:
    """The ``address`` filter, lowercased.

    Raises:
        ValidationError: not ``0x`` + 40 hex digits, or missing when required.
    """
    value = filters.get("address")
    if not value:
        if required:
            raise ValidationError("this table needs an address", field="address")
        return None
    if not ADDRESS.match(value):
        raise ValidationError(f"not an address: {value[:60]!r}", field="address")
    return value.lower()


UINT256_MAX = 2**256 - 1
BIGINT_MAX = 2**63 - 1
INT_LIMITS = {"block": BIGINT_MAX, "token_id": UINT256_MAX}
"""The largest value of each integer filter: what its column can hold."""


def int_filter(filters: Mapping[str, str], name: str, required: bool = False) -> int | None:
    """A non-negative integer filter (``block``, ``token_id``) within its column's range.

    Raises:
        ValidationError: not digits, too large, or missing when required.
    """
    value = filters.get(name)
    if not value:
        if required:
            raise ValidationError(f"this table needs {name}", field=name)
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 80 or int(value) > INT_LIMITS[name]:
        raise ValidationError(
            f"{name} must be an integer from 0 to {INT_LIMITS[name]}, got {value[:60]!r}", field=name
        )
    return int(value)


def hash_filter(filters: Mapping[str, str], name: str) -> str | None:
    """A ``0x`` + 64 hex filter (``tx``), lowercased.

    Raises:
        ValidationError: not a 32-byte hex value.
    """
    value = filters.get(name)
    if not value:
        return None
    if not HASH.match(value):
        raise ValidationError(f"{name} must be 0x and 64 hex digits, got {value[:80]!r}", field=name)
    return value.lower()


def _int_fields(*keys: str) -> Callable[[Row], Row]:
    """A row converter turning decimal text (JSON args, NUMERIC) into exact ints."""

    def convert(row: Row) -> Row:
        for key in keys:
            if row.get(key) is not None:
                row[key] = int(row[key])
        return row

    return convert


# ---------------------------------------------------------------------- columns

BLOCK_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("hash", N_("Hash")),
    Column("time", N_("Time"), Kind.TIME),
    Column("events", N_("Events"), Kind.INT, sortable=True),
)
TX_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("tx", N_("Transaction"), Kind.TX),
    Column("events", N_("Events"), Kind.INT, sortable=True),
)
EVENT_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("log_index", N_("Log"), Kind.INT),
    Column("tx", N_("Transaction"), Kind.TX),
    Column("contract", N_("Contract")),
    Column("event", N_("Event")),
    Column("args", N_("Arguments (exact integers)")),
)
TRANSFER_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("tx", N_("Transaction"), Kind.TX),
    Column("from", N_("From"), Kind.ADDRESS),
    Column("to", N_("To"), Kind.ADDRESS),
    Column("value", N_("Amount"), Kind.IDR, sortable=True),
)
HOLDER_COLUMNS = (
    Column("account", N_("Holder"), Kind.ADDRESS, sortable=True),
    Column("balance", N_("Balance"), Kind.IDR, sortable=True),
    Column("share_bps", N_("Share of supply (bps)"), Kind.INT),
)
SUPPLY_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("time", N_("Time"), Kind.TIME),
    Column("supply", N_("Total supply"), Kind.IDR, sortable=True),
)
ATTESTATION_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("reserves", N_("Attested reserves"), Kind.IDR, sortable=True),
    Column("supply", N_("Supply then"), Kind.IDR),
    Column("reference", N_("Attestation reference")),
    Column("tx", N_("Transaction"), Kind.TX),
)
LOCK_COLUMNS = (
    Column("lock_id", N_("Lock"), Kind.INT, sortable=True),
    Column("tier", N_("Tier"), Kind.INT),
    Column("amount", N_("Principal"), Kind.IDR, sortable=True),
    Column("starts_at", N_("From"), Kind.TIME),
    Column("ends_at", N_("Until"), Kind.TIME, sortable=True),
    Column("status", N_("Status")),
    Column("rewards_paid", N_("Rewards paid"), Kind.IDR),
    Column("penalty", N_("Penalty"), Kind.IDR),
)
PAYMENT_COLUMNS = (
    Column("payment_id", N_("Payment"), Kind.PAYMENT),
    Column("merchant", N_("Merchant"), Kind.ADDRESS),
    Column("payer", N_("Payer"), Kind.ADDRESS),
    Column("amount", N_("Deposited"), Kind.IDR, sortable=True),
    Column("held", N_("Still held"), Kind.IDR),
    Column("status", N_("Status")),
    Column("released", N_("Released"), Kind.IDR),
    Column("refunded", N_("Refunded"), Kind.IDR),
    Column("deposit_block", N_("Deposited in"), Kind.BLOCK, sortable=True),
)
HOLDING_COLUMNS = (
    Column("token_id", N_("Vintage (token id)"), Kind.TOKEN, sortable=True),
    Column("holder", N_("Holder"), Kind.ADDRESS),
    Column("balance", N_("Credits"), Kind.TONNES, sortable=True),
)
RETIREMENT_COLUMNS = (
    Column("certificate", N_("Certificate"), Kind.CERTIFICATE, sortable=True),
    Column("token_id", N_("Vintage"), Kind.TOKEN),
    Column("tonnes", N_("Retired"), Kind.TONNES, sortable=True),
    Column("beneficiary_name", N_("Beneficiary")),
    Column("beneficiary", N_("Beneficiary address"), Kind.ADDRESS),
    Column("retired_by", N_("Retired by"), Kind.ADDRESS),
    Column("reason", N_("Reason")),
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("tx", N_("Transaction"), Kind.TX),
)
TRADE_COLUMNS = (
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("tx", N_("Transaction"), Kind.TX),
    Column("token_id", N_("Vintage"), Kind.TOKEN),
    Column("buyer", N_("Buyer"), Kind.ADDRESS),
    Column("seller", N_("Seller"), Kind.ADDRESS),
    Column("tonnes", N_("Credits"), Kind.TONNES, sortable=True),
    Column("price", N_("Price per tonne"), Kind.IDR, sortable=True),
    Column("notional", N_("Paid"), Kind.IDR),
    Column("fee", N_("Fee"), Kind.IDR),
)
PROJECT_COLUMNS = (
    Column("project_key", N_("Project key"), Kind.INT, sortable=True),
    Column("registry_id", N_("Registry id"), sortable=True),
    Column("project_type", N_("Type")),
    Column("standard", N_("Standard")),
    Column("location", N_("Location")),
    Column("registered_block", N_("Registered in"), Kind.BLOCK, sortable=True),
)
VINTAGE_COLUMNS = (
    Column("token_id", N_("Token id"), Kind.TOKEN, sortable=True),
    Column("project_key", N_("Project key"), Kind.INT),
    Column("year", N_("Vintage"), Kind.INT, sortable=True),
    Column("verified_tonnes", N_("Verified"), Kind.TONNES),
    Column("issued", N_("Issued"), Kind.TONNES, sortable=True),
    Column("retired", N_("Retired"), Kind.TONNES, sortable=True),
    Column("bridged", N_("Bridged back"), Kind.TONNES),
    Column("outstanding", N_("Outstanding"), Kind.TONNES),
    Column("documents_cid", N_("Documents (CID)")),
)
ANOMALY_COLUMNS = (
    Column("score", N_("Score"), Kind.SCORE, sortable=True),
    Column("kind", N_("Kind"), sortable=True),
    Column("status", N_("Review"), sortable=True),
    Column("block", N_("Block"), Kind.BLOCK, sortable=True),
    Column("txs", N_("Transactions"), Kind.TXS),
    Column("reason", N_("Why")),
    Column("source", N_("Rule or model")),
    Column("flag", N_("Flag")),
    Column("evidence", N_("Evidence")),
)
RECONCILIATION_COLUMNS = (
    Column("check", N_("Check"), sortable=True),
    Column("subject", N_("Subject")),
    Column("ok", N_("Result"), Kind.CHECK, sortable=True),
    Column("expected", N_("Expected (exact)"), Kind.INT),
    Column("actual", N_("Actual (exact)"), Kind.INT),
    Column("block", N_("Block"), Kind.BLOCK),
    Column("details", N_("Details")),
)
FLAG_STATUSES = ("open", "confirmed", "dismissed")
KIND = re.compile(r"^[a-z0-9_:.-]{1,64}$")


# ---------------------------------------------------------------------- fetchers


def _blocks(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    query = queries.blocks_query(at)
    cols = query.selected_columns
    order = {"block": [cols.block], "events": [cols.events, cols.block]}
    return page_of_select(conn, query, BLOCK_COLUMNS, req, order, "block")


def _transactions(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    query = queries.transactions_query(at)
    cols = query.selected_columns
    order = {"block": [cols.block, cols.tx], "events": [cols.events, cols.block]}
    return page_of_select(conn, query, TX_COLUMNS, req, order, "block")


def _events(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    tx = hash_filter(filters, "tx")
    number = int_filter(filters, "block")
    if tx is None and number is None:
        raise ValidationError("the events table needs a tx or a block filter")
    query = queries.events_query(at, tx=tx, block_number=number)
    cols = query.selected_columns
    page = page_of_select(conn, query, EVENT_COLUMNS, req, {"block": [cols.block, cols.log_index]}, "block")
    return page


def _transfers(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    query = queries.transfers_query(at, address_filter(filters))
    cols = query.selected_columns
    order: dict[str, list[Any]] = {
        "block": [cols.block, cols.log_index],
        "value": [queries.transfer_value_order(), cols.block, cols.log_index],
    }
    return page_of_select(conn, query, TRANSFER_COLUMNS, req, order, "block", _int_fields("value"))


def _holders(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    rows = queries.msc_holders(conn, at)
    return page_of_rows(rows, HOLDER_COLUMNS, req, "balance", tie_break=lambda r: r["account"])


def _supply(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    query = queries.supply_history_query(at)
    cols = query.selected_columns
    order = {"block": [cols.block], "supply": [cols.supply, cols.block]}
    return page_of_select(conn, query, SUPPLY_COLUMNS, req, order, "block", _int_fields("supply"))


def _attestations(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    rows = queries.attestations(conn, at)
    return page_of_rows(rows, ATTESTATION_COLUMNS, req, "block", tie_break=lambda r: r["tx"])


def _locks(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    address = address_filter(filters, required=True)
    assert address is not None
    return page_of_rows(queries.address_locks(conn, at, address), LOCK_COLUMNS, req, "lock_id")


def _payments(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    address = address_filter(filters, required=True)
    assert address is not None
    rows = queries.address_payments(conn, at, address)
    return page_of_rows(rows, PAYMENT_COLUMNS, req, "deposit_block", tie_break=lambda r: r["payment_id"])


def _holdings(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    address = address_filter(filters)
    token_id = int_filter(filters, "token_id")
    if address is None and token_id is None:
        raise ValidationError("the carbon holdings table needs an address or a token_id filter")
    rows = queries.carbon_holdings(conn, at, holder=address, token_id=token_id)
    return page_of_rows(
        rows, HOLDING_COLUMNS, req, "balance", tie_break=lambda r: (r["token_id"], r["holder"])
    )


def _retirements(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    query = queries.retirements_query(
        at, token_id=int_filter(filters, "token_id"), address=address_filter(filters)
    )
    cols = query.selected_columns
    order = {
        "certificate": [cols.certificate],
        "tonnes": [cols.tonnes, cols.certificate],
        "block": [cols.block, cols.certificate],
    }
    return page_of_select(
        conn,
        query,
        RETIREMENT_COLUMNS,
        req,
        order,
        "certificate",
        _int_fields("certificate", "token_id", "tonnes"),
    )


def _trades(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    token_id, address = int_filter(filters, "token_id"), address_filter(filters)
    query = queries.trades_query(at, token_id=token_id, address=address)
    cols = query.selected_columns
    order = {
        "block": [cols.block, cols.log_index],
        "tonnes": [cols.tonnes, cols.block, cols.log_index],
        "price": [cols.price, cols.block, cols.log_index],
    }
    return page_of_select(conn, query, TRADE_COLUMNS, req, order, "block")


def _projects(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    return page_of_rows(queries.projects(conn, at), PROJECT_COLUMNS, req, "project_key")


def _vintages(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    rows = queries.vintages(conn, at)
    return page_of_rows(rows, VINTAGE_COLUMNS, req, "token_id")


def _anomalies(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    status = filters.get("status") or None
    if status is not None and status not in FLAG_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(FLAG_STATUSES)}, got {status[:40]!r}")
    kind = filters.get("kind") or None
    if kind is not None and not KIND.match(kind):
        raise ValidationError(f"not a flag kind: {kind[:40]!r}", field="kind")
    query = queries.anomalies_query(at, status=status, kind=kind)
    cols = query.selected_columns
    order = {
        "score": [cols.score, cols.flag],
        "kind": [cols.kind, cols.flag],
        "status": [cols.status, cols.flag],
        "block": [cols.block, cols.flag],
    }
    return page_of_select(conn, query, ANOMALY_COLUMNS, req, order, "score")


def _reconciliation(conn: Connection, at: AsOf, filters: Mapping[str, str], req: PageRequest) -> Page:
    run = queries.latest_reconciliation(conn, at)
    if run is None:
        return page_of_rows([], RECONCILIATION_COLUMNS, req, "check")
    query = queries.reconciliation_checks_query(int(run["id"]))
    cols = query.selected_columns
    order = {"check": [cols.check, cols.subject, cols.id], "ok": [cols.ok, cols.check, cols.id]}
    # A failing check first when sorted by result ascending; by name otherwise.
    return page_of_select(conn, query, RECONCILIATION_COLUMNS, req, order, "check", _exact_figures)


def _exact_figures(row: Row) -> Row:
    """Expected/actual as exact ints when they are integers (they are decimal text in the table)."""
    for key in ("expected", "actual"):
        text = str(row[key])
        if text.isascii() and text.lstrip("-").isdigit():
            row[key] = int(text)
    return row


TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        TableDef("blocks", N_("Blocks"), BLOCK_COLUMNS, _blocks),
        TableDef("transactions", N_("Transactions"), TX_COLUMNS, _transactions),
        TableDef("events", N_("Events"), EVENT_COLUMNS, _events, ("tx", "block")),
        TableDef("transfers", N_("MSC transfers"), TRANSFER_COLUMNS, _transfers, ("address",)),
        TableDef("holders", N_("MSC holders"), HOLDER_COLUMNS, _holders),
        TableDef("supply", N_("Supply history"), SUPPLY_COLUMNS, _supply),
        TableDef("attestations", N_("Reserve attestations"), ATTESTATION_COLUMNS, _attestations),
        TableDef("locks", N_("Staking locks"), LOCK_COLUMNS, _locks, ("address",)),
        TableDef("payments", N_("Escrow payments"), PAYMENT_COLUMNS, _payments, ("address",)),
        TableDef(
            "holdings", N_("Carbon credit holdings"), HOLDING_COLUMNS, _holdings, ("address", "token_id")
        ),
        TableDef("retirements", N_("Retirements"), RETIREMENT_COLUMNS, _retirements, ("address", "token_id")),
        TableDef("trades", N_("Carbon market trades"), TRADE_COLUMNS, _trades, ("address", "token_id")),
        TableDef("projects", N_("Carbon projects"), PROJECT_COLUMNS, _projects),
        TableDef("vintages", N_("Vintages"), VINTAGE_COLUMNS, _vintages),
        TableDef("anomalies", N_("Anomaly flags"), ANOMALY_COLUMNS, _anomalies, ("status", "kind")),
        TableDef("reconciliation", N_("Latest reconciliation"), RECONCILIATION_COLUMNS, _reconciliation),
    )
}


def table(name: str) -> TableDef:
    """The table called ``name``.

    Raises:
        NotFoundError: no such table.
    """
    if name not in TABLES:
        raise NotFoundError(f"no table {name!r}; tables are {', '.join(sorted(TABLES))}", table=name)
    return TABLES[name]

"""The bulk writer: COPY on PostgreSQL stores exactly what the plain insert stores, replays included.

Rows with every awkward value (NULLs, tabs, newlines and backslashes in text, quotes and
non-ASCII in JSON, empty log data) are written through :func:`bulk_insert_ignore` on both
backends and read back equal; a second write of overlapping rows (the savepoint fallback through
the staging table on PostgreSQL) adds only the new ones; the pipeline's fast line builders write
exactly what the generic formatter writes; a hex field a node garbled with a tab is caught
instead of shifting columns.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from common.sql.engine import create_engine_from_url
from indexer.store import (
    DECODED,
    DECODED_COLUMNS,
    RAW_COLUMNS,
    RAW_LOGS,
    BulkRows,
    bulk_insert_ignore,
    copy_lines,
    decoded_line,
    json_text,
    raw_log_line,
)


def _raw(i: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "block_number": 10 + i // 3,
        "block_hash": "0x" + f"{10 + i // 3:064x}",
        "log_index": i,
        "tx_hash": "0x" + f"{i:064x}",
        "tx_index": i % 2,
        "address": "0x" + "ab" * 20,
        "topic0": "0x" + "11" * 32,
        "topic1": "0x" + "22" * 32 if i % 2 else None,
        "topic2": None,
        "topic3": None,
        "data": "0x" + "00ff" * (i % 3),
        "removed": False,
        "status": "decoded" if i % 4 else "undecodable",
        "error": None if i % 4 else f"bad\tdata\nline {i} \\ end",
    }
    row.update(overrides)
    assert tuple(row) == RAW_COLUMNS
    return row


def _decoded(i: int) -> dict[str, Any]:
    raw = _raw(i)
    return {
        "block_number": raw["block_number"],
        "block_hash": raw["block_hash"],
        "log_index": i,
        "tx_hash": raw["tx_hash"],
        "address": raw["address"],
        "contract": "CarbonCredits",
        "event": "CreditsRetired",
        "args": {
            "value": str(10**70 + i),
            "reason": 'offset "Bu Sri"\t\\ warung\nMadiun ü €',
            "ok": True,
            "none": None,
            "ids": ["1", ["2", "3"]],
        },
    }


def _read(engine: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        raw = sorted(tuple(r) for r in conn.execute(select(*[c for c in RAW_LOGS.c if c.name != "id"])))
        decoded = sorted(
            (r.block_hash, r.log_index, r.contract, r.event, json.dumps(r.args, sort_keys=True))
            for r in conn.execute(select(DECODED))
        )
    return raw, decoded


def test_bulk_writes_store_every_value_exactly_and_replays_add_nothing(make_db, backend):
    engine = create_engine_from_url(make_db(backend))
    with engine.begin() as conn:
        bulk_insert_ignore(conn, RAW_LOGS, [_raw(i) for i in range(8)])
        bulk_insert_ignore(conn, DECODED, BulkRows(DECODED, [_decoded(i) for i in range(8)]).prepare_copy())
    raw, decoded = _read(engine)
    assert len(raw) == 8 and len(decoded) == 8
    by_index = {r[2]: r for r in raw}
    assert by_index[0][-1] == "bad\tdata\nline 0 \\ end"  # error text with tab, newline, backslash
    assert by_index[0][10] == "0x" and by_index[1][10] == "0x00ff"  # empty and non-empty data
    assert by_index[0][7] is None and by_index[1][7] == "0x" + "22" * 32
    assert decoded[0][4] == json.dumps(_decoded(0)["args"], sort_keys=True)

    # A replay over overlapping rows (PostgreSQL: COPY clashes, the staging table takes over).
    with engine.begin() as conn:
        bulk_insert_ignore(conn, RAW_LOGS, [_raw(i) for i in range(4, 12)])
        bulk_insert_ignore(conn, DECODED, [_decoded(i) for i in range(4, 12)])
    raw_again, decoded_again = _read(engine)
    assert len(raw_again) == 12 and len(decoded_again) == 12
    assert set(raw) <= set(raw_again) and set(decoded) <= set(decoded_again)
    engine.dispose()


def _raw_line(r: dict[str, Any]) -> str:
    topics = (r["topic0"], r["topic1"], r["topic2"], r["topic3"])
    return raw_log_line(
        r["block_number"],
        r["block_hash"],
        r["log_index"],
        r["tx_hash"],
        r["tx_index"],
        r["address"],
        topics,
        r["data"],
        r["status"],
        r["error"],
    )


def _decoded_line(r: dict[str, Any]) -> str:
    keys = ("block_number", "block_hash", "log_index", "tx_hash", "address", "contract", "event", "args")
    return decoded_line(*(r[k] for k in keys))


def test_fast_lines_equal_the_generic_copy_format():
    raws, decodeds = [_raw(i) for i in range(8)], [_decoded(i) for i in range(8)]
    assert (
        copy_lines([_raw_line(r) for r in raws], len(RAW_COLUMNS))
        == BulkRows(RAW_LOGS, raws).prepare_copy().copy
    )
    fast = copy_lines([_decoded_line(r) for r in decodeds], len(DECODED_COLUMNS))
    assert fast == BulkRows(DECODED, decodeds).prepare_copy().copy
    assert tuple(_decoded(0)) == DECODED_COLUMNS


def test_fast_lines_with_garbled_hex_are_caught():
    lines = [_raw_line(_raw(0)), _raw_line(_raw(1, data="0x00\tf\tdecoded"))]
    assert copy_lines(lines, len(RAW_COLUMNS)) is None
    assert copy_lines([_raw_line(_raw(1, tx_hash="0x00\n1"))], len(RAW_COLUMNS)) is None
    assert copy_lines(lines[:1], len(RAW_COLUMNS)) is not None


def test_a_garbled_hex_field_is_refused_not_shifted(make_db):
    engine = create_engine_from_url(make_db("postgresql"))
    bad = _raw(1, data="0x00\tf\tdecoded")
    text = BulkRows(RAW_LOGS, [_raw(0), bad]).prepare_copy().copy
    assert text is not None and text.count("\n") == 2 and "\\t" in text  # escaped, so one field
    with pytest.raises(psycopg.errors.DataError), engine.begin() as conn:
        bulk_insert_ignore(conn, RAW_LOGS, [_raw(0), bad])
    assert _read(engine) == ([], [])
    engine.dispose()


@pytest.mark.parametrize(
    "value",
    [{"a": 'x"y\\z\n', "b": True, "c": None, "d": ["1", ["2"]], "e": "ü€"}, {}, {"k": 5}, ["a"], "s", None],
)
def test_json_text_is_what_json_dumps_writes(value):
    assert json_text(value) == json.dumps(value, separators=(",", ":"))

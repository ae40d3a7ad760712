"""CSV of the payments export and of the monthly statement.

Each amount appears twice: the exact integer of minor units (a numeric column a spreadsheet sums
exactly) and the same amount formatted the Indonesian way (``Rp 12.000``, ``1,0000001 Pi``) for a
person. Every text cell goes through :func:`audit.csv_safe.text_cell`, so a merchant name or a
payment reference someone typed as ``=HYPERLINK(...)`` is shown, never run. Files start with a
UTF-8 byte order mark, which spreadsheets need to read the text as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from functools import partial

from audit.csv_safe import number_cell, text_cell
from merchant_reports.exports import PaymentLine
from merchant_reports.periods import JAKARTA
from merchant_reports.statement import DayLine, Statement
from webui.i18n import gettext, idr, pi

BOM = "\ufeff"
Cell = str | int


def _write(rows: Iterable[Sequence[Cell | None]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return BOM + out.getvalue()


def _cell(value: Cell | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return number_cell(value)
    return text_cell(value)


def payments_csv(lines: Iterable[PaymentLine], language: str, origin: str = "") -> str:
    """The payments export; ``origin`` (``https://host``) makes the explorer links absolute."""
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    header = [
        _("Time (WIB)"),
        _("Payment id"),
        _("Pi payment id"),
        _("Reference"),
        _("Status"),
        _("Amount (sen)"),
        _("Amount"),
        _("Pi paid (10^-7 Pi)"),
        _("Pi paid"),
        _("Fee (10^-7 Pi)"),
        _("Pi transaction"),
        _("Check on the explorer"),
    ]
    rows: list[Sequence[Cell | None]] = [header]
    for line in lines:
        rows.append(
            [
                line.created_at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S"),
                str(line.payment_id),
                line.pi_payment_id,
                line.reference,
                line.status,
                line.idr_amount,
                idr(line.idr_amount),
                line.pi_amount,
                pi(line.pi_amount),
                line.fee_pi,
                line.txid,
                origin + line.explorer_path,
            ]
        )
    return _write(rows)


def statement_csv(st: Statement, language: str, explorer_url: str) -> str:
    """The monthly statement: identity and period, days, totals, payouts, balances, how to check."""
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    rows: list[Sequence[Cell | None]] = [
        [_("Monthly statement")],
        [_("Merchant"), st.merchant_name],
        [_("Kelurahan"), st.kelurahan],
        [_("Merchant id"), str(st.merchant_id)],
        [_("MSC address"), st.evm_address],
        [_("Period"), str(st.month), _("Days in Asia/Jakarta time (WIB)")],
        [],
        [
            _("Day"),
            _("Sales"),
            _("Gross (sen)"),
            _("Gross"),
            _("Conversion fee (10^-7 Pi)"),
            _("Conversion fee"),
            _("Refunds (sen)"),
            _("Refunds"),
            _("Refunds by the guarantee fund (sen)"),
            _("Refunds by the guarantee fund"),
            _("Net (sen)"),
            _("Net"),
        ],
    ]
    rows += [_figures(d.day.isoformat(), d) for d in st.days]
    rows.append(_figures(_("Total"), st))
    rows += [
        [],
        [_("Payouts"), _("Day"), _("Amount (sen)"), _("Fee (sen)"), _("To the bank (sen)"), _("Status")],
    ]
    for p in st.payouts:
        rows.append([p.payout_id, p.day.isoformat(), p.amount, p.fee, p.net, p.status])
    rows.append([_("Total"), None, st.payouts_amount, st.payouts_fee, st.payouts_net, None])
    rows += [
        [],
        [_("Released from escrow (sen)"), st.released],
        [_("Minted to escrow (sen)"), st.minted],
        [_("Payouts reversed (sen)"), st.reversed],
        [],
        [_("Ledger account"), _("Opening (sen)"), _("Closing (sen)"), _("Other movements (sen)")],
    ]
    for account in st.accounts:
        rows.append([account.code, account.opening, account.closing, account.other])
    rows += [[], [explorer_note(language, explorer_url)]]
    return _write(rows)


def _figures(label: str, line: DayLine | Statement) -> list[Cell | None]:
    """A day's (or the month's) row: each amount exact, then formatted."""
    return [
        label,
        line.sales,
        line.gross,
        idr(line.gross),
        line.fees_pi,
        pi(line.fees_pi),
        line.refunds,
        idr(line.refunds),
        line.covered,
        idr(line.covered),
        line.net,
        idr(line.net),
    ]


def explorer_note(language: str, explorer_url: str) -> str:
    """The line that says how to check each figure on the public explorer."""
    return gettext(
        language,
        "Check each figure on the public explorer %(url)s: every sale is an escrow deposit "
        "(the payments CSV links each one), releases, refunds and payouts are transactions of "
        "the merchant's MSC address.",
        url=explorer_url,
    )

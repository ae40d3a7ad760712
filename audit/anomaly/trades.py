"""The trade record and the columnar table every rule and the model read.

Rows are parsed once into :class:`TradeRow` (plain Python ints, exact money) and then stacked into
a :class:`TradeTable`: one numpy array per column, sorted by time, with accounts and carbon token
ids replaced by small integer codes. Rules are vectorised over these arrays, which is what makes
scoring fast; amounts and prices stay ``int64`` (sen, tonnes) so money is never a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KINDS: tuple[str, ...] = ("transfer", "settlement", "redemption", "carbon_trade")
"""Trade kinds, in the order of their integer codes in :attr:`TradeTable.kind`."""
TOKENS: tuple[str, ...] = ("MSC", "CARBON")
"""Tokens, in the order of their integer codes in :attr:`TradeTable.token`."""
KIND_CODE: dict[str, int] = {name: code for code, name in enumerate(KINDS)}
TOKEN_CODE: dict[str, int] = {name: code for code, name in enumerate(TOKENS)}
CARBON_TRADE = KIND_CODE["carbon_trade"]
REDEMPTION = KIND_CODE["redemption"]
MSC = TOKEN_CODE["MSC"]
CARBON = TOKEN_CODE["CARBON"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One validated trade.

    Attributes:
        ts: Seconds since the Unix epoch (UTC).
        tx_hash: Transaction hash, unique in a file.
        kind: One of :data:`KINDS`.
        sender: Account that sends the token (the seller in a carbon trade).
        receiver: Account that receives the token (the buyer in a carbon trade).
        token: ``MSC`` or ``CARBON``.
        token_id: Carbon credit series; empty for MSC.
        amount: Integer minor units: sen for MSC, tonnes CO2e for CARBON.
        price: MSC sen per tonne for carbon trades, 0 otherwise.
        line: Line of the source file the row came from (0 when built in memory).
        label: Injected anomaly kind in a labelled evaluation file, empty for normal activity.
    """

    ts: int
    tx_hash: str
    kind: str
    sender: str
    receiver: str
    token: str
    token_id: str
    amount: int
    price: int
    line: int = 0
    label: str = ""


@dataclass(frozen=True)
class TradeTable:
    """Trades as parallel numpy columns, sorted by ``ts`` (stable, so file order breaks ties).

    ``sender``/``receiver`` index :attr:`accounts`; ``token_id`` indexes :attr:`token_ids` and is
    -1 for MSC. ``price`` is 0 where a trade has none.
    """

    ts: IntArray
    tx_hash: list[str]
    kind: IntArray
    sender: IntArray
    receiver: IntArray
    token: IntArray
    token_id: IntArray
    amount: IntArray
    price: IntArray
    line: IntArray
    labels: list[str]
    accounts: list[str]
    token_ids: list[str]

    def __len__(self) -> int:
        return len(self.tx_hash)

    @classmethod
    def from_rows(cls, rows: Sequence[TradeRow]) -> TradeTable:
        """Stacks rows into columns and sorts them by time."""
        order = sorted(range(len(rows)), key=lambda i: rows[i].ts)
        ordered = [rows[i] for i in order]
        account_code: dict[str, int] = {}
        token_code: dict[str, int] = {}
        senders = [account_code.setdefault(r.sender, len(account_code)) for r in ordered]
        receivers = [account_code.setdefault(r.receiver, len(account_code)) for r in ordered]
        token_ids = [
            token_code.setdefault(r.token_id, len(token_code)) if r.token_id else -1 for r in ordered
        ]
        return cls(
            ts=np.fromiter((r.ts for r in ordered), np.int64, len(ordered)),
            tx_hash=[r.tx_hash for r in ordered],
            kind=np.fromiter((KIND_CODE[r.kind] for r in ordered), np.int64, len(ordered)),
            sender=np.asarray(senders, dtype=np.int64),
            receiver=np.asarray(receivers, dtype=np.int64),
            token=np.fromiter((TOKEN_CODE[r.token] for r in ordered), np.int64, len(ordered)),
            token_id=np.asarray(token_ids, dtype=np.int64),
            amount=np.fromiter((r.amount for r in ordered), np.int64, len(ordered)),
            price=np.fromiter((r.price for r in ordered), np.int64, len(ordered)),
            line=np.fromiter((r.line for r in ordered), np.int64, len(ordered)),
            labels=[r.label for r in ordered],
            accounts=list(account_code),
            token_ids=list(token_code),
        )

    def rows(self) -> list[TradeRow]:
        """The table back as rows (time order)."""
        return [self.row(i) for i in range(len(self))]

    def row(self, i: int) -> TradeRow:
        """Trade ``i`` as a row."""
        tid = int(self.token_id[i])
        return TradeRow(
            ts=int(self.ts[i]),
            tx_hash=self.tx_hash[i],
            kind=KINDS[int(self.kind[i])],
            sender=self.accounts[int(self.sender[i])],
            receiver=self.accounts[int(self.receiver[i])],
            token=TOKENS[int(self.token[i])],
            token_id=self.token_ids[tid] if tid >= 0 else "",
            amount=int(self.amount[i]),
            price=int(self.price[i]),
            line=int(self.line[i]),
            label=self.labels[i],
        )

    def take(self, index: npt.NDArray[np.intp] | BoolArray) -> TradeTable:
        """The trades at ``index`` (positions or a mask), keeping the same account codes."""
        positions = np.flatnonzero(index) if index.dtype == np.bool_ else np.asarray(index)
        return TradeTable(
            ts=self.ts[positions],
            tx_hash=[self.tx_hash[i] for i in positions],
            kind=self.kind[positions],
            sender=self.sender[positions],
            receiver=self.receiver[positions],
            token=self.token[positions],
            token_id=self.token_id[positions],
            amount=self.amount[positions],
            price=self.price[positions],
            line=self.line[positions],
            labels=[self.labels[i] for i in positions],
            accounts=self.accounts,
            token_ids=self.token_ids,
        )

    def kind_mask(self, kinds: Iterable[str]) -> BoolArray:
        """True for trades whose kind is in ``kinds``."""
        codes = [KIND_CODE[k] for k in kinds]
        return np.isin(self.kind, codes)

    def account_codes(self, names: Iterable[str]) -> IntArray:
        """Codes of the given account names that occur in this table (unknown names are skipped)."""
        index = {name: code for code, name in enumerate(self.accounts)}
        return np.asarray([index[n] for n in names if n in index], dtype=np.int64)

    def hashes(self, positions: Iterable[int]) -> tuple[str, ...]:
        """Transaction hashes at ``positions``."""
        return tuple(self.tx_hash[int(i)] for i in positions)

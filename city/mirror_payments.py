"""MSC paid straight to merchants' wallets, as the chain mirror holds it.

A customer who pays in MSC sends a plain ERC-20 ``transfer`` to the merchant's registered wallet
(``merchants.evm_address``); no platform service sees it, the indexer does. Here a payment is an
MSC ``Transfer`` log in the mirror (``raw_logs``, not removed by a reorg) to one of the given
wallets, at its block's time (``blocks.timestamp``), worth its value (1 MSC unit = 1 sen). What
is not a payment, and never returned: a mint (from the zero address: MSC entering circulation), a
transfer from a contract the mirror follows (an escrow release, which is the Pi payment already
counted when it settled; a staking withdrawal; a market settlement) and a wallet's transfer to
itself.

The wallets are matched in SQL on the log's indexed ``to`` topic, through the mirror's
(address, topic0) index, so one merchant's payments are read without decoding anyone else's.
Used by the LPUI and the forecasts (every merchant) and the LDCI (one merchant).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_utils import keccak
from sqlalchemy import BigInteger, Boolean, Integer, String, column, select, table
from sqlalchemy.orm import Session

from common.sql.types import HexBytes

MSC_CONTRACT = "MadiunStableCoin"
"""MSC's name in the deployment file, which the mirror stores with each decoded event."""
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
ZERO_ADDRESS = "0x" + "0" * 40
CHUNK = 500
"""Wallets matched per query (keeps SQLite's bound-parameter count small)."""

_raw_logs = table(
    "raw_logs",
    column("block_number", BigInteger),
    column("log_index", Integer),
    column("address", String),
    column("topic0", HexBytes),
    column("topic1", HexBytes),
    column("topic2", HexBytes),
    column("data", HexBytes),
    column("removed", Boolean),
)
_blocks = table("blocks", column("number", BigInteger), column("timestamp", BigInteger))
_decoded = table(
    "decoded_events", column("address", String), column("contract", String), column("event", String)
)
"""The chain mirror's tables (:mod:`indexer.models`), read without importing the indexer."""


@dataclass(frozen=True)
class MscPayment:
    """One MSC payment to a merchant's wallet.

    Attributes:
        wallet: The merchant's wallet (lowercase ``0x`` address).
        payer: The paying wallet (lowercase).
        value_sen: Its value in sen (MSC minor units).
        at: Its block's time (aware UTC).
        block_number: Its block.
        log_index: Its place in the block.
    """

    wallet: str
    payer: str
    value_sen: int
    at: datetime
    block_number: int
    log_index: int


def _topic(address: str) -> str:
    """An address as an indexed event topic (32 bytes, ``0x`` hex)."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def _address(topic: str) -> str:
    return "0x" + topic[-40:]


def msc_address(session: Session) -> str | None:
    """The MSC contract's address as the mirror stores it, None before it mirrored any MSC event."""
    return session.scalar(
        select(_decoded.c.address)
        .where(_decoded.c.contract == MSC_CONTRACT, _decoded.c.event == "Transfer")
        .limit(1)
    )


def msc_payments(
    session: Session, wallets: Collection[str], start: datetime | None, end: datetime
) -> list[MscPayment]:
    """The MSC payments to ``wallets`` (any case) in blocks timed in [``start``, ``end``) (from the
    first block when ``start`` is None), oldest first."""
    wanted = sorted({w.lower() for w in wallets if w})
    msc = msc_address(session) if wanted else None
    if msc is None:
        return []
    followed = {str(a).lower() for a in session.scalars(select(_raw_logs.c.address).distinct())}
    found: list[MscPayment] = []
    for i in range(0, len(wanted), CHUNK):
        query = (
            select(
                _raw_logs.c.topic1,
                _raw_logs.c.topic2,
                _raw_logs.c.data,
                _blocks.c.timestamp,
                _raw_logs.c.block_number,
                _raw_logs.c.log_index,
            )
            .join(_blocks, _blocks.c.number == _raw_logs.c.block_number)
            .where(_raw_logs.c.address == msc, _raw_logs.c.topic0 == TRANSFER_TOPIC)
            .where(_raw_logs.c.removed.is_(False))
            .where(_raw_logs.c.topic2.in_([_topic(w) for w in wanted[i : i + CHUNK]]))
            .where(_blocks.c.timestamp < int(end.timestamp()))
        )
        if start is not None:
            query = query.where(_blocks.c.timestamp >= int(start.timestamp()))
        for topic1, topic2, data, timestamp, block_number, log_index in session.execute(query):
            payer, wallet = _address(topic1), _address(topic2)
            if payer in (wallet, ZERO_ADDRESS) or payer in followed:
                continue
            at = datetime.fromtimestamp(int(timestamp), UTC)
            found.append(MscPayment(wallet, payer, int(data, 16), at, int(block_number), int(log_index)))
    found.sort(key=lambda p: (p.block_number, p.log_index))
    return found

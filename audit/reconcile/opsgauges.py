"""Refreshes the operations gauges of :class:`~audit.reconcile.metrics.AuditMetrics` from SQL.

Settlements and Pi volume come from the settlement tables joined to the merchants' kelurahan;
carbon retired from the mirror's certificates; open anomaly flags from ``anomaly_flags``. Each
gauge is recomputed from scratch (labels cleared first), so a restart never double counts.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from audit.reconcile.metrics import AuditMetrics
from audit.store.models import AnomalyFlag
from indexer.models import CarbonRetirement
from settlement.payments.models import Payment, PaymentStatus

UNKNOWN_KELURAHAN = "unknown"


def _kelurahan_by_merchant(conn: Connection) -> dict[str, str]:
    from api.merchants.models import Merchant  # api is a reader's dependency only for this label

    rows = conn.execute(select(Merchant.id, Merchant.kelurahan))
    return {str(merchant_id): kelurahan for merchant_id, kelurahan in rows}


def refresh_settlement_gauges(conn: Connection, metrics: AuditMetrics) -> None:
    """Completed settlements and their Pi volume per kelurahan."""
    kelurahan = _kelurahan_by_merchant(conn)
    counts: dict[str, int] = defaultdict(int)
    volume: dict[str, int] = defaultdict(int)
    rows = conn.execute(
        select(Payment.merchant_id, func.count(), func.coalesce(func.sum(Payment.pi_amount), 0))
        .where(Payment.status == PaymentStatus.COMPLETED.value)
        .group_by(Payment.merchant_id)
    )
    for merchant_id, count, pi_amount in rows:
        place = kelurahan.get(str(merchant_id), UNKNOWN_KELURAHAN)
        counts[place] += int(count)
        volume[place] += int(pi_amount)
    metrics.settlements.clear()
    metrics.pi_volume.clear()
    for place in counts:
        metrics.settlements.labels(kelurahan=place).set(counts[place])
        metrics.pi_volume.labels(kelurahan=place).set(volume[place])


def refresh_carbon_gauges(conn: Connection, metrics: AuditMetrics) -> None:
    """Tonnes retired per token id (summed in Python: Uint256 columns)."""
    retired: dict[int, int] = defaultdict(int)
    for token_id, tonnes in conn.execute(select(CarbonRetirement.token_id, CarbonRetirement.tonnes)):
        retired[int(token_id)] += int(tonnes)
    metrics.carbon_retired.clear()
    for token_id, tonnes in retired.items():
        metrics.carbon_retired.labels(token_id=str(token_id)).set(tonnes)


def refresh_flag_gauges(conn: Connection, metrics: AuditMetrics) -> None:
    """Open anomaly flags per kind."""
    rows = conn.execute(
        select(AnomalyFlag.kind, func.count()).where(AnomalyFlag.status == "open").group_by(AnomalyFlag.kind)
    )
    metrics.flags_open.clear()
    for kind, count in rows:
        metrics.flags_open.labels(kind=kind).set(int(count))


def refresh_ops_gauges(conn: Connection, metrics: AuditMetrics) -> None:
    """Every SQL-derived operations gauge."""
    refresh_settlement_gauges(conn, metrics)
    refresh_carbon_gauges(conn, metrics)
    refresh_flag_gauges(conn, metrics)

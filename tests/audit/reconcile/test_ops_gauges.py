"""The operations gauges are recomputed from SQL: settlements and Pi volume per kelurahan, flags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.merchants.models import Merchant
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.opsgauges import refresh_ops_gauges
from audit.store.models import AnomalyFlag
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
PI = 10**7


def test_settlement_flag_and_carbon_gauges_follow_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    quotes = QuoteService(FixedRateSource(Decimal("15000")), QuoteSettings.from_env({}), clock=lambda: NOW)
    payments = PaymentService(quotes, clock=lambda: NOW)
    with Session(engine) as session:
        places = {"Manguharjo": None, "Taman": None}
        for place in places:
            merchant = Merchant(
                id=uuid.uuid4(),
                name=f"Warung {place}",
                kelurahan=place,
                evm_address="0x" + uuid.uuid4().hex[:20] + "0" * 20,
                pi_username=f"warung_{place.lower()}",
                created_at=NOW,
            )
            session.add(merchant)
            places[place] = merchant
        session.flush()
        made: list[tuple[str, int, bool]] = [
            ("Manguharjo", 10, True),
            ("Manguharjo", 4, True),
            ("Taman", 7, True),
        ]
        made.append(("Taman", 3, False))  # not settled: not counted
        for place, pi, settled in made:
            merchant = places[place]
            assert merchant is not None
            quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=pi * PI)
            payment = payments.create(
                session, pi_payment_id=uuid.uuid4().hex, merchant_id=str(merchant.id), quote_id=quote.id
            )
            if settled:
                session.execute(
                    update(Payment)
                    .where(Payment.id == payment.id)
                    .values(status=PaymentStatus.COMPLETED.value)
                )
        session.add_all(
            AnomalyFlag(
                id=f"cycle-{i}",
                kind="cycle",
                source="cycle",
                score=0.7,
                reason="r",
                tx_hashes=[f"0x{i}"],
                accounts=[],
                evidence={},
                status=status,
                note="",
                created_at=NOW,
            )
            for i, status in enumerate(["open", "open", "dismissed"])
        )
        session.commit()

    metrics = AuditMetrics()
    with engine.connect() as conn:
        refresh_ops_gauges(conn, metrics)
    sample = metrics.registry.get_sample_value
    assert sample("msc_settlements_completed", {"kelurahan": "Manguharjo"}) == 2
    assert sample("msc_settlements_completed", {"kelurahan": "Taman"}) == 1
    assert sample("msc_pi_volume_minor", {"kelurahan": "Manguharjo"}) == 14 * PI
    assert sample("msc_pi_volume_minor", {"kelurahan": "Taman"}) == 7 * PI
    assert sample("msc_anomaly_flags_open", {"kind": "cycle"}) == 2

    with engine.begin() as conn:  # a recount replaces, never adds
        conn.execute(update(AnomalyFlag).values(status="confirmed"))
        refresh_ops_gauges(conn, metrics)
    assert sample("msc_anomaly_flags_open", {"kind": "cycle"}) is None
    assert sample("msc_settlements_completed", {"kelurahan": "Manguharjo"}) == 2
    engine.dispose()

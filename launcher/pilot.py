"""The pilot simulator: simulated UMKM of Kota Madiun taking simulated Pi payments over past days.

Why: the command centre, the reports and the portal need a realistic city to show before real
merchants trade. The seed's pilot is 150 UMKM spread over the 27 kelurahan, about 2 sales per UMKM
per day of around Rp 50.000, half of the customers paying in Pi, for 90 days
(``python -m launcher.pilot --merchants 150 --days 90``); ``--merchants 10 --days 7`` is a small one.

Everything goes through the platform's own services, never by writing report rows:

* merchants through :func:`api.merchants.service.create` (kelurahan checked there), then marked
  ``simulated`` and named ``"[SIMULASI] ..."`` so every page shows they are not real;
* each Pi payment through :class:`QuoteService` (a firm quote at a fixed rate) and
  :class:`PaymentService` (record, approve, txid), then the two ledger flows the settlement
  workers post: ``pending_anchor -> pending_stellar`` with ``record_pi_received`` and
  ``record_conversion`` in one transaction (as ``settlement.flow.pi_flow`` does after Horizon),
  then ``-> completed`` with ``record_msc_minted_to_escrow`` (as the minter does after its mint).

Nothing leaves the database here: no Pi platform call, no Horizon, no chain transaction. The mint
is booked; ``msc up --pilot`` then mints and deposits it into the escrow on its chain as the minter
does (:mod:`launcher.pilot_chain`), so books and chain agree there. On its own (this CLI) run the
pilot on a database of its own (it refuses one holding any real merchant): its books would
otherwise disagree with a chain.

Customers paying in MSC pay the merchant's wallet on chain directly; the platform has no service
path for them (its mirror sees them), so here they are drawn (the same random draws) and counted in
the summary; ``msc up --pilot`` sends them on its chain with :mod:`launcher.pilot_chain`. Only the
Pi half is in the database.

Timestamps: quotes, payments and their status history take the simulator's clock, set to the
sale's moment (a Jakarta time between 07:00 and 21:00 of the sale's day, each later step 30
seconds after the previous one); a merchant's ``created_at`` is set to the pilot's first day.
Ledger entries carry the wall-clock posting time (the ledger flows take no clock).

Deterministic and resumable: the random draws depend only on the seed; a merchant is known by its
Pi username ``simulasi_<seed>_<n>`` and a payment by its Pi payment id
``simulasi-<seed>-<merchant>-<YYYYMMDD>-<n>``, so a second run of the same command (same
``--end``; after a crash, say) finishes what is missing, from the status each payment reached, and
creates nothing twice. A run whose draws disagree with a payment of its seed already there on its
days (another plan with the same seed) stops with ``pilot_plan_mismatch`` before writing any
payment, instead of mixing the two.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from api.merchants import service as merchants
from api.merchants.models import Merchant
from api.merchants.schemas import MerchantCreate
from city.kelurahan import KELURAHAN
from common.errors import ConflictError, ValidationError
from common.money import format_idr
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.ledger import flows
from settlement.payments.models import Payment
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from webui.i18n import pi

JAKARTA = ZoneInfo("Asia/Jakarta")
PREFIX = "[SIMULASI] "
"""Starts every simulated merchant's name, so every page that shows it says so."""
DEFAULT_IDR_PER_PI = Decimal("15000")
"""The pilot's fixed rate (the API's default fixed rate)."""
STEP = timedelta(seconds=30)
"""Time between two moves of a simulated payment."""
OPEN_MINUTE, CLOSE_MINUTE = 7 * 60, 21 * 60
REGULARS, PASSERS_BY = 25, 3_000
"""Each simulated shop's regular customers, and the city's passers-by (see :meth:`Pilot.payer_uid`)."""
"""Shops sell between 07:00 and 21:00 Jakarta time."""

_TRADES = (
    "Warung Pecel",
    "Bakso",
    "Toko Batik",
    "Kerajinan Bambu",
    "Kedai Kopi",
    "Brem Madiun",
    "Sate Ayam",
    "Toko Kelontong",
    "Jamu",
    "Penjahit",
)
_OWNERS = ("Bu Sri", "Pak Darto", "Bu Yem", "Pak Kumis", "Bu Ani", "Pak Slamet", "Bu Tini", "Mas Agus")


class RealMerchantsPresentError(ConflictError):
    """The database holds real merchants; the simulator's booked mints would mix with theirs."""

    code = "pilot_real_merchants"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the database holds {count} real merchant(s): run the pilot on a database of its own",
            real_merchants=count,
        )


class PlanMismatchError(ConflictError):
    """A payment of this seed, merchant and day exists with another amount: another plan (other
    merchant count or days) with the same seed made it."""

    code = "pilot_plan_mismatch"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(
            f"simulated payment {pi_payment_id} was made by another plan with the same seed: resume with "
            "the same --merchants, --days and --end, or use another --seed or database",
            pi_payment_id=pi_payment_id,
        )


@dataclass(frozen=True)
class PilotPlan:
    """What to simulate.

    Attributes:
        merchants: How many UMKM (spread evenly over the 27 kelurahan, in code order).
        days: How many days, ending the day before ``end`` (Jakarta days).
        seed: Seeds every random draw.
        end: The day after the last simulated day.
        idr_per_pi: The fixed Pi rate of the quotes.
    """

    merchants: int
    days: int
    seed: int
    end: date
    idr_per_pi: Decimal = DEFAULT_IDR_PER_PI

    def __post_init__(self) -> None:
        """Refuses an empty or negative plan."""
        if self.merchants < 1 or self.days < 1:
            raise ValidationError("the pilot needs at least one merchant and one day")

    @property
    def first_day(self) -> date:
        """The first simulated day."""
        return self.end - timedelta(days=self.days)


@dataclass(frozen=True)
class Sale:
    """One customer's sale as drawn: to which merchant, when, how much, paid how."""

    merchant: int
    day: int
    number: int
    at: datetime
    rupiah: int
    in_pi: bool


@dataclass
class PilotSummary:
    """What a run left in the database (counting what an earlier run of the same plan made).

    Attributes:
        merchants: Simulated merchants of the plan.
        pi_payments: Completed simulated Pi payments of the plan.
        msc_sales: Sales drawn as paid in MSC (sent on chain by :mod:`launcher.pilot_chain`, not here).
        idr_sen: Rupiah owed for the Pi payments, in sen.
        pi_minor: Pi paid, in 10^-7 Pi.
    """

    merchants: int = 0
    pi_payments: int = 0
    msc_sales: int = 0
    idr_sen: int = 0
    pi_minor: int = 0
    payment_ids: list[str] = field(default_factory=list, repr=False)


class SimClock:
    """The services' clock: the simulated moment of the step being made."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        """The simulated current time (aware UTC)."""
        return self.now


def sales(plan: PilotPlan) -> Iterator[Sale]:
    """Every sale of the plan, drawn from ``plan.seed`` alone, day by day, merchant by merchant.

    About two sales per merchant per day (four fair coins), of around Rp 50.000 (normal, sd
    Rp 15.000, rounded to Rp 500, at least Rp 5.000), each paid in Pi with probability one half.
    """
    rng = random.Random(plan.seed)
    for day in range(plan.days):
        moment = datetime.combine(plan.first_day + timedelta(days=day), time(0), JAKARTA)
        for merchant in range(plan.merchants):
            count = sum(rng.random() < 0.5 for _ in range(4))
            for number in range(count):
                minute = rng.randrange(OPEN_MINUTE, CLOSE_MINUTE)
                second = rng.randrange(60)
                rupiah = max(5_000, round(rng.gauss(50_000, 15_000) / 500) * 500)
                in_pi = rng.random() < 0.5
                at = (moment + timedelta(minutes=minute, seconds=second)).astimezone(UTC)
                yield Sale(merchant, day, number, at, rupiah, in_pi)


def merchant_data(plan: PilotPlan, index: int) -> MerchantCreate:
    """The ``index``-th simulated merchant: its kelurahan, name, wallet address and Pi username.

    The address is derived from the seed and index (no key exists for it: it only receives, the
    MSC its customers pay on chain with :mod:`launcher.pilot_chain`).
    """
    place = KELURAHAN[index % len(KELURAHAN)]
    trade = _TRADES[index % len(_TRADES)]
    owner = _OWNERS[(index // len(_TRADES)) % len(_OWNERS)]
    digest = hashlib.sha256(f"msc-pilot:{plan.seed}:{index}".encode()).hexdigest()
    return MerchantCreate(
        name=f"{PREFIX}{trade} {owner} {index + 1:03d}",
        kelurahan=place.code,
        evm_address=Web3.to_checksum_address("0x" + digest[:40]),
        pi_username=f"simulasi_{plan.seed}_{index:03d}",
    )


class Pilot:
    """Runs a :class:`PilotPlan` against a database through the platform's services."""

    def __init__(self, sessions: sessionmaker[Session], plan: PilotPlan) -> None:
        self.sessions = sessions
        self.plan = plan
        self.clock = SimClock(datetime.combine(plan.first_day, time(0), JAKARTA).astimezone(UTC))
        quote_settings = QuoteSettings.from_env({})
        self.quotes = QuoteService(FixedRateSource(plan.idr_per_pi), quote_settings, clock=self.clock)
        self.payments = PaymentService(self.quotes, clock=self.clock)

    def run(self, *, require_pilot_database: bool = True) -> PilotSummary:
        """Makes the merchants and the payments still missing; returns what the plan left.

        Raises:
            RealMerchantsPresentError: ``require_pilot_database`` and a real merchant exists.
        """
        if require_pilot_database:
            self._refuse_real_merchants()
        ids = [self._merchant(i) for i in range(self.plan.merchants)]
        self._refuse_another_plans_payments(ids)
        summary = PilotSummary(merchants=len(ids))
        for sale in sales(self.plan):
            if not sale.in_pi:
                summary.msc_sales += 1
                continue
            payment = self._payment(sale, ids[sale.merchant])
            summary.pi_payments += 1
            summary.idr_sen += payment.idr_amount
            summary.pi_minor += payment.pi_amount
            summary.payment_ids.append(str(payment.id))
        return summary

    def pi_payment_id(self, sale: Sale) -> str:
        """The Pi payment id the sale's payment is known by (seed, merchant, Jakarta date, number)."""
        day = (self.plan.first_day + timedelta(days=sale.day)).strftime("%Y%m%d")
        return f"simulasi-{self.plan.seed}-{sale.merchant:03d}-{day}-{sale.number}"

    def payer_uid(self, sale: Sale) -> str:
        """The simulated Pioneer who pays ``sale``: three sales in five by one of the merchant's 25
        regulars, the others by one of 3,000 passers-by of the city. Drawn from a hash of the Pi
        payment id, so the plan's random draws (and resuming) are unchanged."""
        digest = int.from_bytes(hashlib.sha256(self.pi_payment_id(sale).encode()).digest()[:8], "big")
        if digest % 5 < 3:
            return f"simulasi-{self.plan.seed}-pelanggan-{sale.merchant:03d}-{digest // 5 % REGULARS}"
        return f"simulasi-{self.plan.seed}-pelintas-{digest // 5 % PASSERS_BY}"

    def _refuse_another_plans_payments(self, merchant_ids: list[str]) -> None:
        """Before any payment is written: every payment of this seed on the plan's days must be one
        the plan draws, to the same merchant for the same amount (else another plan made it).

        Raises:
            PlanMismatchError: one is not.
        """
        planned = {
            self.pi_payment_id(sale): (merchant_ids[sale.merchant], sale.rupiah * 100)
            for sale in sales(self.plan)
            if sale.in_pi
        }
        days = {(self.plan.first_day + timedelta(days=d)).strftime("%Y%m%d") for d in range(self.plan.days)}
        with self.sessions() as session:
            rows = session.execute(
                select(Payment.pi_payment_id, Payment.merchant_id, Payment.idr_amount).where(
                    Payment.pi_payment_id.startswith(f"simulasi-{self.plan.seed}-", autoescape=True)
                )
            ).all()
        for pi_payment_id, merchant_id, idr_amount in rows:
            parts = pi_payment_id.split("-")
            if (
                len(parts) == 5
                and parts[3] in days
                and planned.get(pi_payment_id) != (merchant_id, idr_amount)
            ):
                raise PlanMismatchError(pi_payment_id)

    def _refuse_real_merchants(self) -> None:
        with self.sessions() as session:
            real = session.scalars(select(Merchant.id).where(Merchant.simulated.is_(False))).all()
        if real:
            raise RealMerchantsPresentError(len(real))

    def _merchant(self, index: int) -> str:
        """The id of the ``index``-th simulated merchant, onboarded now if it does not exist yet."""
        data = merchant_data(self.plan, index)
        with self.sessions.begin() as session:
            existing = session.scalars(
                select(Merchant).where(Merchant.pi_username == data.pi_username)
            ).first()
            if existing is not None:
                if not existing.simulated:
                    raise ConflictError(f"Pi username {data.pi_username!r} belongs to a real merchant")
                return str(existing.id)
            merchant, _key = merchants.create(session, data)  # the API key is not kept nor shown
            merchant.simulated = True
            merchant.created_at = self.clock.now
            return str(merchant.id)

    def _payment(self, sale: Sale, merchant_id: str) -> Payment:
        """The sale's payment, completed; each step in its own transaction, as the workers make
        them, resumed from the status an earlier run left it in."""
        pi_payment_id = self.pi_payment_id(sale)
        txid = hashlib.sha256(pi_payment_id.encode()).hexdigest()
        self.clock.now = sale.at
        with self.sessions.begin() as session:
            payment = session.scalars(select(Payment).where(Payment.pi_payment_id == pi_payment_id)).first()
            if payment is None:
                quote = self.quotes.create(
                    session, sell_asset="PI", buy_asset="IDR", buy_amount=sale.rupiah * 100
                )
                payment = self.payments.create(
                    session, pi_payment_id=pi_payment_id, merchant_id=merchant_id, quote_id=quote.id
                )
            if payment.merchant_id != merchant_id or payment.idr_amount != sale.rupiah * 100:
                raise PlanMismatchError(pi_payment_id)
            payment_id, status = payment.id, S(payment.status)
        if status == S.INCOMPLETE:
            self.clock.now = sale.at + STEP
            with self.sessions.begin() as session:
                self.payments.transition(
                    session,
                    payment_id,
                    S.INCOMPLETE,
                    S.PENDING_USER_TRANSFER_START,
                    "simulated: approved on Pi",
                )
            status = S.PENDING_USER_TRANSFER_START
        if status == S.PENDING_USER_TRANSFER_START:
            self.clock.now = sale.at + 2 * STEP
            with self.sessions.begin() as session:
                self.payments.record_txid(session, payment_id, txid)
            status = S.PENDING_ANCHOR
        if status == S.PENDING_ANCHOR:
            self.clock.now = sale.at + 3 * STEP
            with self.sessions.begin() as session:
                payment = self.payments.transition(
                    session,
                    payment_id,
                    S.PENDING_ANCHOR,
                    S.PENDING_STELLAR,
                    f"simulated: Pi transaction {txid} taken as verified and completed",
                )
                payment.payer_uid = self.payer_uid(sale)  # as the flow stores Pi's user_uid
                flows.record_pi_received(session, payment)
                flows.record_conversion(session, payment, self.quotes.get(session, payment.quote_id))
            status = S.PENDING_STELLAR
        if status == S.PENDING_STELLAR:
            self.clock.now = sale.at + 4 * STEP
            with self.sessions.begin() as session:
                payment = self.payments.transition(
                    session,
                    payment_id,
                    S.PENDING_STELLAR,
                    S.COMPLETED,
                    "simulated: MSC mint booked, not sent",
                )
                flows.record_msc_minted_to_escrow(session, payment)
            status = S.COMPLETED
        if status != S.COMPLETED:
            raise ConflictError(f"simulated payment {pi_payment_id} is {status}, not completable")
        with self.sessions() as session:
            return self.payments.get(session, payment_id)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m launcher.pilot",
        description="Simulated UMKM of Kota Madiun taking simulated Pi payments (marked [SIMULASI]).",
    )
    parser.add_argument("--merchants", type=int, default=150, help="how many UMKM (default 150)")
    parser.add_argument("--days", type=int, default=90, help="how many past days (default 90)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random draw (default 1)")
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=None,
        help="day after the last one (default: today, Jakarta)",
    )
    parser.add_argument("--database-url", required=True, help="a database of the pilot's own")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """The CLI: migrates the database (to every head), runs the plan and prints what it left."""
    args = _parse(argv)
    upgrade(args.database_url)
    end = args.end or datetime.now(JAKARTA).date()
    plan = PilotPlan(merchants=args.merchants, days=args.days, seed=args.seed, end=end)
    engine = create_engine_from_url(args.database_url)
    try:
        summary = Pilot(make_sessionmaker(engine), plan).run()
    finally:
        engine.dispose()
    print(
        f"pilot {plan.first_day}..{plan.end - timedelta(days=1)} seed {plan.seed}: "
        f"{summary.merchants} simulated merchants, {summary.pi_payments} Pi payments "
        f"({format_idr(summary.idr_sen)}, {pi(summary.pi_minor)}), "
        f"{summary.msc_sales} MSC sales drawn (msc up --pilot sends them on its chain)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

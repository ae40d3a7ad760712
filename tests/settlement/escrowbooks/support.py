"""Escrow outcomes made on a real chain by their real actors, the mirror indexed from it, and the books'
figures read back per payment and per kind."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from chain.signer import Signer
from indexer.models import DecodedEvent
from settlement.escrowbooks.service import EscrowOutcomeBooker
from settlement.ledger import chart
from settlement.ledger.models import JournalEntry
from settlement.ledger.service import balance_of
from settlement.minting.ids import escrow_payment_id
from settlement.minting.minter import EscrowMinter
from tests.settlement.minting.support import Chain, Db, amounts, make_pending, resolver
from tests.support.mirror import backfill

OUTCOME_KINDS = (
    "release",
    "escrow_refund",
    "escrow_split",
    "escrow_default_refund",
    "guarantee_refund",
    "guarantee_funded",
    "guarantee_withdrawn",
)
HOLD = 100
WINDOW = 3_600  # the arbiter's window, shortened from 14 days


@dataclass
class Scene:
    """A deployed platform with settlement payments in escrow, and who acts on it."""

    db: Db
    chain: Chain
    merchants: dict[str, str]
    """Merchant id -> address (dev accounts 5..)."""
    ids: list[uuid.UUID]
    info: dict[uuid.UUID, tuple[str, int]]
    """Payment -> (merchant id, sen)."""
    stream: str = field(default_factory=lambda: f"books-{uuid.uuid4().hex[:8]}")

    @property
    def escrow(self) -> str:
        return str(self.chain.platform.escrow.address).lower()

    def merchant_signer(self, payment_id: uuid.UUID) -> Signer:
        address = self.merchants[self.info[payment_id][0]]
        return next(Signer.dev(i) for i in range(5, 10) if Signer.dev(i).address == address)

    def refund(self, payment_id: uuid.UUID, amount: int) -> None:
        fn = self.chain.platform.escrow.functions.refund(escrow_payment_id(payment_id), amount)
        self.chain.sender(self.merchant_signer(payment_id)).transact(fn)

    def dispute(self, payment_id: uuid.UUID) -> None:
        fn = self.chain.platform.escrow.functions.dispute(escrow_payment_id(payment_id))
        self.chain.sender(self.chain.depositor).transact(fn)  # the platform is the payer of record

    def resolve(self, payment_id: uuid.UUID, to_merchant: int) -> None:
        fn = self.chain.platform.escrow.functions.resolveDispute(escrow_payment_id(payment_id), to_merchant)
        self.chain.sender(self.chain.owner).transact(fn)  # the owner holds the arbiter role

    def resolve_expired(self, payment_id: uuid.UUID) -> None:
        fn = self.chain.platform.escrow.functions.resolveExpiredDispute(escrow_payment_id(payment_id))
        self.chain.sender(self.chain.redeemer).transact(fn)  # anyone

    def release(self, payment_id: uuid.UUID) -> None:
        fn = self.chain.platform.escrow.functions.release(escrow_payment_id(payment_id))
        self.chain.sender(self.chain.redeemer).transact(fn)  # anyone, after the hold

    def fund_guarantee(self, amount: int) -> None:
        msc, escrow = self.chain.platform.msc, self.chain.platform.escrow
        send = self.chain.sender(self.chain.owner)
        send.transact(msc.functions.mint(self.chain.owner.address, amount))
        send.transact(msc.functions.approve(escrow.address, amount))
        send.transact(escrow.functions.fundGuarantee(amount))

    def cover(self, payment_id: uuid.UUID, amount: int) -> None:
        fn = self.chain.platform.escrow.functions.coverRefund(escrow_payment_id(payment_id), amount)
        self.chain.sender(self.chain.owner).transact(fn)

    def withdraw_guarantee(self, amount: int) -> None:
        fn = self.chain.platform.escrow.functions.withdrawGuarantee(amount, self.chain.owner.address)
        self.chain.sender(self.chain.owner).transact(fn)

    def index(self) -> None:
        """Backfills the chain into the mirror up to the head."""
        backfill(
            self.db.url,
            self.chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
            self.chain.deployment_file,
            stream=self.stream,
            initial_span=500,
        )

    def booker(self, **kwargs: int) -> EscrowOutcomeBooker:
        options = {"confirmations": 0, **kwargs}
        return EscrowOutcomeBooker(self.db.sessions, self.escrow, stream=self.stream, **options)

    def entries(self) -> list[tuple[str, str | None, dict[str, int]]]:
        """Every escrow-outcome entry of this scene's payments and escrow, in posting order:
        (kind, reference, {account code: signed amount})."""
        refs = {str(p) for p in self.ids}
        with self.db.sessions() as session:
            keys = {
                f"escrow:{tx}:{index}"
                for tx, index in session.execute(
                    select(DecodedEvent.tx_hash, DecodedEvent.log_index).where(
                        DecodedEvent.address == self.escrow
                    )
                )
            }
            rows = session.scalars(
                select(JournalEntry).where(JournalEntry.kind.in_(OUTCOME_KINDS)).order_by(JournalEntry.id)
            ).all()
            return [
                (e.kind, e.reference, {p.account.code: p.amount for p in e.postings})
                for e in rows
                if e.reference in refs or e.idempotency_key in keys
            ]

    def escrow_in_books(self) -> int:
        with self.db.sessions() as session:
            return sum(balance_of(session, chart.msc_minted_to_escrow(m)) for m in self.merchants)


def make_scene(db: Db, chain: Chain, merchants: dict[str, str], count: int) -> Scene:
    """``count`` payments minted into the escrow (the minter books them) with a ``HOLD``-second hold,
    and the arbiter's window shortened to ``WINDOW``."""
    ids = make_pending(db.sessions, list(merchants), count)
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        hold_seconds=HOLD,
    )
    assert minter.run_once().completed == count
    chain.sender(chain.owner).transact(chain.platform.escrow.functions.setDisputeWindow(WINDOW))
    return Scene(db, chain, merchants, ids, amounts(db.sessions, ids))


def by_kind(entries: list[tuple[str, str | None, dict[str, int]]]) -> dict[str, int]:
    """How many entries of each kind."""
    counts: dict[str, int] = defaultdict(int)
    for kind, _, _ in entries:
        counts[kind] += 1
    return dict(counts)

"""EscrowMinter on a real anvil: batches, transaction counts, escrow records equal to the
payments, ledger equal to the chain, payments already in escrow, concurrent minters."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import String, Uuid, column, insert, select, table
from web3 import Web3

from audit.reconcile.chainview import ChainView
from audit.reconcile.checks import default_checks, settlement_account_balance_booked
from chain.signer import Signer
from common.errors import ValidationError
from common.sql.helpers import UtcDateTime
from settlement.ledger import chart
from settlement.ledger.models import JournalEntry
from settlement.ledger.service import balance_of
from settlement.ledger.sql import utcnow
from settlement.minting.escrow_reads import read_escrow_records
from settlement.minting.ids import escrow_payment_id, payment_id_from_escrow_id
from settlement.minting.minter import EscrowMinter, MintReport
from settlement.minting.models import EscrowHolding, MintBatch
from settlement.payments.models import Payment
from tests.settlement.minting.support import (
    Chain,
    Db,
    amounts,
    ledger_balanced,
    ledger_in_escrow,
    make_pending,
    merchant_map,
    resolver,
    statuses,
)

ANVIL_PORT = 8710
HELD = 1


def minter(db: Db, chain: Chain, merchants: dict[str, str], **kwargs: object) -> EscrowMinter:
    return EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        **kwargs,  # type: ignore[arg-type]
    )


def drain(m: EscrowMinter, max_batch: int = 500) -> list[MintReport]:
    reports = []
    while True:
        report = m.run_once(max_batch)
        reports.append(report)
        if report.claimed == 0:
            return reports


def test_escrow_ids_are_the_payment_uuid_as_a_number_and_read_back() -> None:
    payment_id = uuid.uuid4()
    key = escrow_payment_id(payment_id)
    assert len(key) == 32 and int.from_bytes(key, "big") == payment_id.int
    assert payment_id_from_escrow_id(key) == payment_id


def test_a_thousand_payments_are_minted_with_at_most_ten_transactions(sqlite_db: Db, chain: Chain) -> None:
    # The SQL of a thousand payments is the same on both backends; PostgreSQL runs the race below.
    db = sqlite_db
    merchants = merchant_map(5)
    ids = make_pending(db.sessions, list(merchants), 1000, book=False)
    depositor = Web3.to_checksum_address(chain.depositor.address)
    nonce_before = chain.w3.eth.get_transaction_count(depositor)

    reports = drain(minter(db, chain, merchants))

    sent = chain.w3.eth.get_transaction_count(depositor) - nonce_before
    hashes = [h for r in reports for h in r.tx_hashes]
    assert sent == len(hashes) <= 10, hashes
    print(f"1,000 payments minted into escrow with {sent} transactions")
    assert sum(r.claimed for r in reports) == sum(r.completed for r in reports) == 1000
    assert statuses(db.sessions, ids) == {"completed": 1000}
    expected = amounts(db.sessions, ids)
    records = read_escrow_records(
        chain.w3, chain.platform.escrow.address, [escrow_payment_id(p) for p in ids]
    )
    for payment_id, record in zip(ids, records, strict=True):
        merchant_id, amount = expected[payment_id]
        assert (record.merchant, record.amount, record.status) == (merchants[merchant_id], amount, HELD)
    for payment_id in ids[:: len(ids) // 4]:  # and a few through the contract's own ABI
        merchant, held, _payer, _release, _deadline, status, _covered = chain.escrow_record(payment_id)
        assert (merchant, held, status) == (merchants[expected[payment_id][0]], expected[payment_id][1], HELD)
    total = sum(a for _, a in expected.values())
    assert chain.escrowed() == total == chain.supply()  # nothing idle: minted == deposited
    assert chain.balance(depositor) == 0
    assert ledger_balanced(db.sessions)
    assert ledger_in_escrow(db.sessions, merchants) == total


def test_payments_already_in_escrow_are_completed_without_a_second_deposit(db: Db, chain: Chain) -> None:
    merchants = merchant_map(2)
    ids = make_pending(db.sessions, list(merchants), 8)
    info = amounts(db.sessions, ids)
    # An earlier run deposited three of them and died before recording anything.
    send = chain.sender(chain.depositor)
    msc, escrow = chain.platform.msc, chain.platform.escrow
    early = ids[:3]
    early_total = sum(info[p][1] for p in early)
    send.transact(msc.functions.mint(chain.depositor.address, early_total))
    send.transact(msc.functions.approve(escrow.address, early_total))
    send.transact(
        escrow.functions.depositBatch(
            [
                (escrow_payment_id(p), merchants[info[p][0]], chain.depositor.address, info[p][1], 3600)
                for p in early
            ]
        )
    )

    report = minter(db, chain, merchants).run_once()

    assert (report.claimed, report.completed, report.found_in_escrow) == (8, 8, 3)
    total = sum(a for _, a in info.values())
    assert report.minted == total - early_total  # only the five missing ones were minted
    assert chain.escrowed() == chain.supply() == total
    assert statuses(db.sessions, ids) == {"completed": 8}
    assert ledger_in_escrow(db.sessions, merchants) == total and ledger_balanced(db.sessions)
    with db.sessions() as session:
        for merchant_id in merchants:  # each merchant's Rupiah moved from owed to escrowed
            assert balance_of(session, chart.idr_owed_to_merchant(merchant_id)) == 0
    again = minter(db, chain, merchants).run_once()
    assert (again.claimed, again.completed, again.tx_hashes) == (0, 0, [])


def test_unbooked_msc_of_the_depositor_is_left_alone_and_fails_reconciliation(
    sqlite_db: Db, chain: Chain
) -> None:
    """MSC on the settlement key that no batch or redemption accounts for (here minted to it out of
    band; in the incident, a redemption's relay whose record was lost) is never spent as deposit
    money: the minter mints each batch's full need, the surplus stays, and the reconciliation
    check "settlement account holds unbooked MSC" fails until an operator explains it."""
    db = sqlite_db
    merchants = merchant_map(1)
    ids = make_pending(db.sessions, list(merchants), 4)
    total = sum(a for _, a in amounts(db.sessions, ids).values())
    depositor = chain.depositor.address
    spare = chain.balance(depositor)
    assert _booked_check(db, chain, depositor) == (True, spare, spare)  # books == chain
    chain.sender(chain.depositor).transact(chain.platform.msc.functions.mint(depositor, 250_000))
    assert _booked_check(db, chain, depositor) == (False, spare, spare + 250_000)

    report = minter(db, chain, merchants).run_once()

    assert report.minted == total  # the unbooked 250,000 sen were not used
    assert chain.escrowed() == total and chain.balance(depositor) == spare + 250_000
    with db.sessions() as session:
        batch = session.scalars(select(MintBatch).where(MintBatch.id == report.batches[0])).one()
        assert (batch.state, batch.minted_amount, batch.total_amount) == ("completed", total, total)
        assert batch.mint_tx_hash is not None and batch.mint_raw_tx is None
    assert _booked_check(db, chain, depositor) == (False, spare, spare + 250_000)
    chain.sender(chain.depositor).transact(chain.platform.msc.functions.burn(250_000))  # explained
    assert _booked_check(db, chain, depositor) == (True, spare, spare)


def _booked_check(db: Db, chain: Chain, account: str) -> tuple[bool, int, int]:
    """The reconciliation check's verdict on ``account``: (ok, the books' figure, the chain's)."""
    view = ChainView(chain.platform, int(chain.w3.eth.block_number))
    with db.engine.connect() as conn:
        results = [r for r in settlement_account_balance_booked(conn, view) if r.subject == account]
    assert settlement_account_balance_booked in default_checks()
    if not results:
        return True, 0, chain.balance(account)
    (result,) = results
    return result.ok, result.expected, result.actual


def test_a_payment_of_a_merchant_without_an_address_goes_to_error_and_nothing_is_minted_for_it(
    sqlite_db: Db, chain: Chain
) -> None:
    db = sqlite_db
    merchants = merchant_map(1)
    known = make_pending(db.sessions, list(merchants), 2)
    unknown = make_pending(db.sessions, ["m-unknown-" + uuid.uuid4().hex[:6]], 1)

    report = minter(db, chain, merchants).run_once()

    assert (report.completed, report.failed) == (2, 1)
    assert statuses(db.sessions, unknown) == {"error": 1}
    with db.sessions() as session:
        payment = session.get(Payment, unknown[0])
        assert payment is not None and "has no EVM address" in (payment.error_reason or "")
    assert chain.escrow_record(unknown[0])[5] == 0  # never deposited
    assert chain.supply() == sum(a for _, a in amounts(db.sessions, known).values())


def _unpayable_merchants(chain: Chain) -> dict[str, str]:
    """Merchants whose addresses MerchantEscrow refuses: the token, the escrow, the zero address."""
    return {
        "m-token-" + uuid.uuid4().hex[:6]: chain.platform.msc.address,
        "m-escrow-" + uuid.uuid4().hex[:6]: chain.platform.escrow.address.lower(),
        "m-zero-" + uuid.uuid4().hex[:6]: "0x" + "00" * 20,
    }


def test_payments_of_merchants_the_escrow_cannot_pay_go_to_error_and_the_batch_is_minted(
    db: Db, chain: Chain
) -> None:
    merchants = merchant_map(2)
    bad = _unpayable_merchants(chain)
    good_ids = make_pending(db.sessions, list(merchants), 4)
    bad_ids = make_pending(db.sessions, list(bad), 3)

    report = minter(db, chain, {**merchants, **bad}).run_once()

    assert (report.claimed, report.completed, report.failed) == (4, 4, 3)
    assert statuses(db.sessions, good_ids) == {"completed": 4}
    assert statuses(db.sessions, bad_ids) == {"error": 3}
    expected = {
        "m-token-": "is the MSC token",
        "m-escrow-": "is the escrow itself",
        "m-zero-": "zero address",
    }
    with db.sessions() as session:
        for payment_id in bad_ids:
            payment = session.get(Payment, payment_id)
            assert payment is not None and payment.error_reason is not None
            phrase = next(v for k, v in expected.items() if payment.merchant_id.startswith(k))
            assert phrase in payment.error_reason, payment.error_reason
    total = sum(a for _, a in amounts(db.sessions, good_ids).values())
    assert chain.escrowed() == chain.supply() == report.minted == total
    assert all(chain.escrow_record(p)[5] == 0 for p in bad_ids)


def test_an_open_batch_holding_an_unpayable_merchant_drops_it_and_completes(db: Db, chain: Chain) -> None:
    """A batch claimed before the refusal (here written directly) would make every depositBatch
    revert: recovery moves that payment to error and deposits the rest."""
    merchants = merchant_map(1)
    bad = {"m-token-" + uuid.uuid4().hex[:6]: chain.platform.msc.address}
    good_ids = make_pending(db.sessions, list(merchants), 2)
    bad_ids = make_pending(db.sessions, list(bad), 1)
    every = {**merchants, **bad}
    info = amounts(db.sessions, good_ids + bad_ids)
    now = utcnow()
    batch_id = uuid.uuid4()
    with db.sessions.begin() as session:
        session.add(
            MintBatch(
                id=batch_id,
                state="recorded",
                depositor=chain.depositor.address,
                total_amount=sum(a for _, a in info.values()),
                minted_amount=0,
                deposit_tx_hashes=[],
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        for payment_id, (merchant_id, amount) in info.items():
            session.add(
                EscrowHolding(
                    payment_id=payment_id,
                    batch_id=batch_id,
                    escrow_id="0x" + escrow_payment_id(payment_id).hex(),
                    merchant_id=merchant_id,
                    merchant_address=every[merchant_id],
                    amount=amount,
                )
            )

    report = minter(db, chain, every).run_once()

    assert report.batches == [batch_id] and (report.completed, report.failed) == (2, 1)
    assert statuses(db.sessions, good_ids) == {"completed": 2}
    assert statuses(db.sessions, bad_ids) == {"error": 1}
    good_total = sum(info[p][1] for p in good_ids)
    assert chain.escrowed() == chain.supply() == report.minted == good_total
    with db.sessions() as session:
        batch = session.get(MintBatch, batch_id)
        assert batch is not None and (batch.state, batch.total_amount) == ("completed", good_total)
        assert session.get(EscrowHolding, bad_ids[0]) is None


def test_merchants_table_addresses_the_escrow_refuses_or_malformed_go_to_error_alone(
    sqlite_db: Db, chain: Chain
) -> None:
    """Through the real ``merchants`` table: one merchant's address that is the token, one that is
    no address at all; only their payments go to error, the good merchant's batch is minted."""
    db = sqlite_db
    rows = {
        uuid.uuid4(): Signer.dev(5).address,
        uuid.uuid4(): chain.platform.msc.address,
        uuid.uuid4(): "0xnot-an-address",
    }
    merchants = table(
        "merchants",
        column("id", Uuid),
        column("name", String),
        column("kelurahan", String),
        column("evm_address", String),
        column("pi_username", String),
        column("created_at", UtcDateTime),
    )
    with db.sessions.begin() as session:
        session.execute(
            insert(merchants),
            [
                {
                    "id": mid,
                    "name": f"shop {i}",
                    "kelurahan": "Kartoharjo",
                    "evm_address": address,
                    "pi_username": f"shop-{mid.hex[:12]}",
                    "created_at": utcnow(),
                }
                for i, (mid, address) in enumerate(rows.items())
            ],
        )
    good, token, malformed = (str(m) for m in rows)
    good_ids = make_pending(db.sessions, [good], 2)
    bad_ids = make_pending(db.sessions, [token, malformed], 2)

    report = EscrowMinter(db.sessions, chain.platform, chain.sender(chain.depositor)).run_once()

    assert (report.completed, report.failed) == (2, 2)
    assert statuses(db.sessions, good_ids) == {"completed": 2}
    assert statuses(db.sessions, bad_ids) == {"error": 2}
    with db.sessions() as session:
        reasons = {p: (session.get(Payment, p) or Payment()).error_reason or "" for p in bad_ids}
    assert "is the MSC token" in reasons[bad_ids[0]] and "is not an EVM address" in reasons[bad_ids[1]]
    assert chain.supply() == chain.escrowed() == sum(a for _, a in amounts(db.sessions, good_ids).values())


def test_a_payer_the_escrow_cannot_pay_back_is_refused_at_construction(db: Db, chain: Chain) -> None:
    with pytest.raises(ValidationError, match="cannot pay the payer"):
        minter(db, chain, {}, payer=chain.platform.msc.address)


def test_two_minters_at_once_on_postgresql_never_take_the_same_payment(pg_db: Db, chain: Chain) -> None:
    merchants = merchant_map(3)
    ids = make_pending(pg_db.sessions, list(merchants), 200, book=False)
    minters = [minter(pg_db, chain, merchants), minter(pg_db, chain, merchants)]
    claimed: list[list[uuid.UUID]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(i: int) -> None:
        try:
            start.wait()
            while (report := minters[i].run_once(max_batch=25)).claimed:
                assert report.claimed_batch is not None
                claimed[i].append(report.claimed_batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors  # a payment deposited twice would have reverted (EscrowPaymentExists)
    assert all(claimed), "both minters claimed batches"
    taken = [_payments_of(pg_db, claimed[i]) for i in range(2)]
    assert not taken[0] & taken[1]  # no payment in both minters' batches
    assert taken[0] | taken[1] == set(ids)
    assert statuses(pg_db.sessions, ids) == {"completed": 200}
    with pg_db.sessions() as session:  # one mint-to-escrow entry per payment
        minted = session.scalars(
            select(JournalEntry.reference).where(JournalEntry.kind == "msc_minted_to_escrow")
        ).all()
    assert sorted(str(m) for m in minted if uuid.UUID(str(m)) in set(ids)) == sorted(str(p) for p in ids)
    assert chain.escrowed() == chain.supply() == sum(a for _, a in amounts(pg_db.sessions, ids).values())


def _payments_of(db: Db, batch_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    with db.sessions() as session:
        statement = select(EscrowHolding.payment_id).where(EscrowHolding.batch_id.in_(batch_ids))
        return set(session.scalars(statement))

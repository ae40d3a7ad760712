"""The reconciliation checks: small functions, each comparing two independent accounts of one fact.

Every check reads the mirror (``indexer.models``) and/or the settlement books
(``settlement.ledger.models``) through one SQL connection and the contracts through a
:class:`~audit.reconcile.chainview.ChainView` pinned to the block being reconciled, and returns
:class:`~audit.reconcile.results.CheckResult` values. Invariants:

* ``msc_supply_matches_balances``: MSC ``totalSupply()`` == sum of the mirror's indexed balances.
* ``msc_supply_mirror_matches_chain``: the mirror's supply history at the block == ``totalSupply()``.
* ``msc_supply_within_reserves``: ``totalSupply()`` <= the attested Rupiah reserves.
* ``escrow_mirror_matches_chain``: the escrow's open amount on chain == the mirror's held amounts.
* ``escrow_ledger_matches_chain``: the books' ``msc_minted_to_escrow:*`` liabilities == the escrow's
  open amount on chain (only the settlement service deposits into the escrow).
* ``minted_to_escrow_ledger_matches_chain``: MSC the books say was minted into escrow == the sum of
  the escrow deposits on chain.
* ``burned_ledger_matches_chain``: MSC the books say was redeemed or burned for a customer's pay-back
  == MSC burned on chain by the redemption burners (all burners when none is configured).
* ``escrow_books_*``: the books' released / refunded / split / default-refunded / guarantee-paid
  amounts == the mirror's escrow events, the books' escrow held == the mirror's open amounts, the
  books' guarantee fund == the chain's.
* ``settlement_account_balance_booked`` (per settlement address): the settlement account holds no
  unbooked MSC: ``balanceOf`` == what the books say it holds (open batches' final mints minus their
  deposits, relayed redemptions not burned, escrow refunds owed to customers), give or take what is
  in flight (written-ahead mints, pending intents and burns, escrow payments back to it that the
  mirror shows above the escrow books' cursor). Anything else is MSC nobody can account for; the
  minter leaves it alone.
* ``carbon_supply_balanced`` (per token id): issued on chain == held + retired + bridged in the mirror.
* ``carbon_retired_matches_chain`` (per token id): retired on chain == the mirror's certificates.

Uint256 columns are summed in Python, never by SQL: SQLite would turn large sums into floats.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.orm import Session

from audit.reconcile.chainview import ChainView
from audit.reconcile.results import CheckResult, at_most, equal
from indexer.models import (
    CarbonBalance,
    CarbonBridgeRequest,
    CarbonBridgeStatus,
    CarbonRetirement,
    CarbonVintage,
    DecodedEvent,
    EscrowPayment,
    EscrowStatus,
    SupplyHistory,
    TokenBalance,
)
from settlement.ledger.models import Currency, EscrowBooksCursor, JournalEntry, LedgerAccount, Posting
from settlement.minting.books import settlement_account_books
from settlement.minting.models import MintBatch
from settlement.redemption.models import Redemption, RedemptionIntent

Check = Callable[[Connection, ChainView], list[CheckResult]]

BALANCES: Table = TokenBalance.__table__  # type: ignore[assignment]
SUPPLY: Table = SupplyHistory.__table__  # type: ignore[assignment]
PAYMENTS: Table = EscrowPayment.__table__  # type: ignore[assignment]
VINTAGES: Table = CarbonVintage.__table__  # type: ignore[assignment]
CARBON_BALANCES: Table = CarbonBalance.__table__  # type: ignore[assignment]
RETIREMENTS: Table = CarbonRetirement.__table__  # type: ignore[assignment]
BRIDGES: Table = CarbonBridgeRequest.__table__  # type: ignore[assignment]
DECODED: Table = DecodedEvent.__table__  # type: ignore[assignment]
ACCOUNTS: Table = LedgerAccount.__table__  # type: ignore[assignment]
ENTRIES: Table = JournalEntry.__table__  # type: ignore[assignment]
POSTINGS: Table = Posting.__table__  # type: ignore[assignment]
ESCROW_CURSORS: Table = EscrowBooksCursor.__table__  # type: ignore[assignment]

ESCROW_ACCOUNT_PREFIX = "msc_minted_to_escrow:"
MERCHANT_BALANCE_PREFIX = "msc_merchant_balance:"
OPEN_STATUSES = (EscrowStatus.HELD.value, EscrowStatus.DISPUTED.value)


def _exact_sum(values: Iterable[int]) -> int:
    return sum((int(v) for v in values), 0)


def msc_supply_matches_balances(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """``totalSupply()`` at the block == the sum of every balance the mirror indexed."""
    token = chain.msc_address
    rows = conn.execute(select(BALANCES.c.balance).where(BALANCES.c.token == token)).scalars()
    balances = list(rows)
    return [
        equal(
            "msc_supply_matches_balances",
            token,
            chain.total_supply(),
            _exact_sum(balances),
            indexed_accounts=sum(1 for b in balances if b),
        )
    ]


def msc_supply_mirror_matches_chain(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """The mirror's latest supply row at or below the block == ``totalSupply()`` at the block."""
    token = chain.msc_address
    row = conn.execute(
        select(SUPPLY.c.block_number, SUPPLY.c.total_supply)
        .where(SUPPLY.c.token == token, SUPPLY.c.block_number <= chain.block)
        .order_by(SUPPLY.c.block_number.desc())
        .limit(1)
    ).first()
    mirrored = int(row.total_supply) if row else 0
    return [
        equal(
            "msc_supply_mirror_matches_chain",
            token,
            chain.total_supply(),
            mirrored,
            supply_row_block=row.block_number if row else None,
        )
    ]


def msc_supply_within_reserves(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """``totalSupply()`` never exceeds the attested reserves (expected is the reserves, the limit)."""
    reserves, supply = chain.attested_reserves(), chain.total_supply()
    return [
        at_most(
            "msc_supply_within_reserves",
            chain.msc_address,
            reserves,
            supply,
            headroom=str(reserves - supply),
        )
    ]


def _mirror_escrow_held(conn: Connection, escrow: str) -> tuple[int, int]:
    rows = conn.execute(
        select(PAYMENTS.c.held).where(PAYMENTS.c.escrow == escrow, PAYMENTS.c.status.in_(OPEN_STATUSES))
    ).scalars()
    held = list(rows)
    return _exact_sum(held), len(held)


def escrow_mirror_matches_chain(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """The escrow's open amount on chain == the mirror's held amounts of open payments."""
    escrowed, fund = chain.escrow_totals()
    held, count = _mirror_escrow_held(conn, chain.escrow_address)
    return [
        equal(
            "escrow_mirror_matches_chain",
            chain.escrow_address,
            escrowed,
            held,
            open_payments=count,
            guarantee_fund=str(fund),
        )
    ]


def _ledger_signed_sum(conn: Connection, prefix: str, kind: str | None = None, sign: int = 0) -> int:
    """Signed sum of IDR postings on accounts whose code starts with ``prefix``.

    ``kind`` restricts to entries of that movement; ``sign`` -1 or 1 keeps only credits or debits.
    """
    query = (
        select(func.coalesce(func.sum(POSTINGS.c.amount), 0))
        .select_from(POSTINGS.join(ACCOUNTS, ACCOUNTS.c.id == POSTINGS.c.account_id))
        .where(ACCOUNTS.c.currency == Currency.IDR.value, ACCOUNTS.c.code.startswith(prefix, autoescape=True))
    )
    if kind is not None:
        query = query.join(ENTRIES, ENTRIES.c.id == POSTINGS.c.entry_id).where(ENTRIES.c.kind == kind)
    if sign < 0:
        query = query.where(POSTINGS.c.amount < 0)
    elif sign > 0:
        query = query.where(POSTINGS.c.amount > 0)
    return int(conn.execute(query).scalar_one() or 0)


def escrow_ledger_matches_chain(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """The books' escrow liabilities (credit balance of ``msc_minted_to_escrow:*``) == escrowed on chain."""
    escrowed, _ = chain.escrow_totals()
    owed = -_ledger_signed_sum(conn, ESCROW_ACCOUNT_PREFIX)
    return [equal("escrow_ledger_matches_chain", chain.escrow_address, escrowed, owed)]


def minted_to_escrow_ledger_matches_chain(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """MSC booked as minted into escrow == the sum of the escrow deposits up to the block."""
    deposits = list(
        conn.execute(
            select(PAYMENTS.c.amount).where(
                PAYMENTS.c.escrow == chain.escrow_address, PAYMENTS.c.deposit_block <= chain.block
            )
        ).scalars()
    )
    booked = -_ledger_signed_sum(conn, ESCROW_ACCOUNT_PREFIX, kind="msc_minted_to_escrow", sign=-1)
    return [
        equal(
            "minted_to_escrow_ledger_matches_chain",
            chain.escrow_address,
            _exact_sum(deposits),
            booked,
            deposits=len(deposits),
        )
    ]


def burned_ledger_matches_chain(
    burners: Collection[str] = (),
) -> Check:
    """The check that MSC booked as redeemed == MSC burned on chain by ``burners`` (all if empty)."""
    wanted = {b.lower() for b in burners}

    def check(conn: Connection, chain: ChainView) -> list[CheckResult]:
        events = conn.execute(
            select(DECODED.c.args).where(
                DECODED.c.address == chain.msc_address,
                DECODED.c.event == "Burn",
                DECODED.c.block_number <= chain.block,
            )
        ).scalars()
        burned = [
            int(args["amount"]) for args in events if not wanted or str(args["minter"]).lower() in wanted
        ]
        redeemed = _ledger_signed_sum(conn, MERCHANT_BALANCE_PREFIX, kind="redemption", sign=1)
        # Escrow pay-backs burn the MSC paid back for customers from the same key (settlement.paybacks).
        redeemed += _ledger_signed_sum(conn, "customer_refunds_owed", kind="payback_burned", sign=1)
        return [
            equal(
                "burned_ledger_matches_chain",
                chain.msc_address,
                _exact_sum(burned),
                redeemed,
                burns=len(burned),
                burners=sorted(wanted) or "all",
            )
        ]

    return check


def settlement_account_balance_booked(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """Fails when a settlement account holds unbooked MSC: each settlement address's ``balanceOf`` lies within
    what the books say it holds (:mod:`settlement.minting.books`); expected is the books' figure."""
    with Session(bind=conn) as session:
        accounts = sorted(
            {str(a) for a in session.scalars(select(MintBatch.depositor).distinct())}
            | {str(a) for a in session.scalars(select(Redemption.redeemer).distinct())}
            | {str(a) for a in session.scalars(select(RedemptionIntent.redeemer).distinct())}
        )
        deposited_ids = {
            str(pid).lower(): int(amount)
            for pid, amount in conn.execute(
                select(PAYMENTS.c.payment_id, PAYMENTS.c.amount).where(
                    PAYMENTS.c.escrow == chain.escrow_address, PAYMENTS.c.deposit_block <= chain.block
                )
            )
        }
        unbooked = _escrow_paid_back_unbooked(conn, chain)
        results: list[CheckResult] = []
        for account in accounts:
            books = settlement_account_books(session, account)
            deposited = _exact_sum(
                amount
                for escrow_id, amount in books.open_holdings.items()
                if escrow_id.lower() in deposited_ids
            )
            low, high = books.bounds(deposited, unbooked.get(account.lower(), 0))
            balance = chain.msc_balance(account)
            result = equal(
                "settlement_account_balance_booked",
                account,
                low,
                balance,
                in_flight=str(high - low),
                minted_open=str(books.minted_open),
                deposited_open=str(deposited),
                redeemed_unburned=str(books.redeemed_unburned),
                refunds_owed=str(books.refunds_owed),
                paybacks_burning=str(books.paybacks_burning),
            )
            results.append(dataclasses.replace(result, ok=low <= balance <= high))
        return results


#: Escrow events that pay MSC back to a payment's payer, and the argument saying how much.
PAID_BACK = {"Refunded": "amount", "DisputeResolved": "toPayer", "GuaranteeRefundPaid": "amount"}


def _escrow_paid_back_unbooked(conn: Connection, chain: ChainView) -> dict[str, int]:
    """Payer (lowercase) -> sen the escrow paid back to it in events the mirror holds up to the
    block and the escrow books have not passed yet (their cursor's ``scanned_block``): in flight
    for ``settlement_account_balance_booked`` until booked as ``customer_refunds_owed``."""
    escrow = chain.escrow_address
    scanned = conn.execute(
        select(ESCROW_CURSORS.c.scanned_block).where(ESCROW_CURSORS.c.escrow == escrow)
    ).scalar()
    events = list(
        conn.execute(
            select(DECODED.c.event, DECODED.c.args).where(
                DECODED.c.address == escrow,
                DECODED.c.event.in_(PAID_BACK),
                DECODED.c.block_number > (-1 if scanned is None else int(scanned)),
                DECODED.c.block_number <= chain.block,
            )
        )
    )
    if not events:
        return {}
    ids = {str(args["paymentId"]).lower() for _, args in events}
    payers = {
        str(pid).lower(): str(payer).lower()
        for pid, payer in conn.execute(
            select(PAYMENTS.c.payment_id, PAYMENTS.c.payer).where(
                PAYMENTS.c.escrow == escrow, PAYMENTS.c.payment_id.in_(sorted(ids))
            )
        )
    }
    totals: dict[str, int] = defaultdict(int)
    for event, args in events:
        payer = payers.get(str(args["paymentId"]).lower())
        if payer is not None:
            totals[payer] += int(str(args[PAID_BACK[str(event)]]))
    return dict(totals)


def _by_token(rows: Iterable[tuple[int, int]]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for token_id, amount in rows:
        totals[int(token_id)] += int(amount)
    return totals


def carbon_supply_checks(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """Per token id: issued == held + retired + bridged, and retired on chain == the certificates."""
    carbon = chain.carbon_address
    held = _by_token(
        conn.execute(
            select(CARBON_BALANCES.c.token_id, CARBON_BALANCES.c.balance).where(
                CARBON_BALANCES.c.carbon == carbon
            )
        )
    )
    retired = _by_token(
        conn.execute(
            select(RETIREMENTS.c.token_id, RETIREMENTS.c.tonnes).where(
                RETIREMENTS.c.carbon == carbon, RETIREMENTS.c.block_number <= chain.block
            )
        )
    )
    bridged = _by_token(
        conn.execute(
            select(BRIDGES.c.token_id, BRIDGES.c.tonnes).where(
                BRIDGES.c.carbon == carbon, BRIDGES.c.status == CarbonBridgeStatus.CONFIRMED.value
            )
        )
    )
    vintages = set(conn.execute(select(VINTAGES.c.token_id).where(VINTAGES.c.carbon == carbon)).scalars())
    results: list[CheckResult] = []
    for token_id in sorted({int(t) for t in vintages} | set(held) | set(retired) | set(bridged)):
        on_chain = chain.vintage(token_id)
        h, r, b = held.get(token_id, 0), retired.get(token_id, 0), bridged.get(token_id, 0)
        subject = str(token_id)
        results.append(
            equal(
                "carbon_supply_balanced",
                subject,
                on_chain.issued,
                h + r + b,
                held=str(h),
                retired=str(r),
                bridged=str(b),
            )
        )
        results.append(
            equal("carbon_retired_matches_chain", subject, on_chain.retired, r, certificates_tonnes=str(r))
        )
    return results


#: Outcome figures of the escrow: (name, mirror event, its amount argument, books entry kind, account
#: prefix the entry credits). ``byDefault`` splits DisputeResolved into the arbiter's and the default's.
ESCROW_OUTCOMES = (
    ("released", "Released", "amount", "release", MERCHANT_BALANCE_PREFIX),
    ("refunded", "Refunded", "amount", "escrow_refund", "customer_refunds_owed"),
    ("split_to_merchant", "DisputeResolved", "toMerchant", "escrow_split", MERCHANT_BALANCE_PREFIX),
    ("split_to_payer", "DisputeResolved", "toPayer", "escrow_split", "customer_refunds_owed"),
    ("default_refunded", "DisputeResolved", "toPayer", "escrow_default_refund", "customer_refunds_owed"),
    ("guarantee_paid", "GuaranteeRefundPaid", "amount", "guarantee_refund", "customer_refunds_owed"),
)


def escrow_books_match_mirror(conn: Connection, chain: ChainView) -> list[CheckResult]:
    """The books follow every escrow outcome (``settlement.escrowbooks``): per outcome kind, what
    the books posted == the mirror's events up to the block; the books' escrow held == the mirror's
    open amounts (== the chain's, in the details); the books' guarantee fund == the chain's.

    The books post at the escrow books' confirmation depth: reconcile at a block they have reached
    (``ledger_escrow_cursors.scanned_block``, in the details) or a recent outcome shows as missing.
    """
    escrow = chain.escrow_address
    events: dict[str, list[dict[str, object]]] = defaultdict(list)
    for event, args in conn.execute(
        select(DECODED.c.event, DECODED.c.args).where(
            DECODED.c.address == escrow,
            DECODED.c.event.in_({o[1] for o in ESCROW_OUTCOMES}),
            DECODED.c.block_number <= chain.block,
        )
    ):
        events[str(event)].append(args)
    scanned = conn.execute(
        select(ESCROW_CURSORS.c.scanned_block).where(ESCROW_CURSORS.c.escrow == escrow)
    ).scalar()
    results: list[CheckResult] = []
    for name, event, argument, kind, prefix in ESCROW_OUTCOMES:
        wanted = [
            a
            for a in events[event]
            if event != "DisputeResolved" or bool(a["byDefault"]) == (kind != "escrow_split")
        ]
        mirrored = _exact_sum(int(str(a[argument])) for a in wanted)
        booked = -_ledger_signed_sum(conn, prefix, kind=kind, sign=-1)
        results.append(
            equal(
                f"escrow_books_{name}",
                escrow,
                mirrored,
                booked,
                events=len(wanted),
                books_scanned_block=scanned,
            )
        )
    escrowed, fund = chain.escrow_totals()
    held, count = _mirror_escrow_held(conn, escrow)
    books_held = -_ledger_signed_sum(conn, ESCROW_ACCOUNT_PREFIX)
    results.append(
        equal(
            "escrow_books_held", escrow, held, books_held, open_payments=count, chain_escrowed=str(escrowed)
        )
    )
    # "guarantee_fund" is also the prefix of "guarantee_fund_contributions": take that one out.
    fund_postings = _ledger_signed_sum(conn, "guarantee_fund") - _ledger_signed_sum(
        conn, "guarantee_fund_contributions"
    )
    books_fund = -fund_postings
    results.append(equal("escrow_books_guarantee_fund", escrow, fund, books_fund))
    return results


def default_checks(redemption_burners: Collection[str] = ()) -> list[Check]:
    """Every check, in the order they are run and shown."""
    return [
        msc_supply_matches_balances,
        msc_supply_mirror_matches_chain,
        msc_supply_within_reserves,
        escrow_mirror_matches_chain,
        escrow_ledger_matches_chain,
        minted_to_escrow_ledger_matches_chain,
        burned_ledger_matches_chain(redemption_burners),
        escrow_books_match_mirror,
        settlement_account_balance_booked,
        carbon_supply_checks,
    ]

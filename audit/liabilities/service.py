"""Snapshots of the books as Merkle-sum trees, and the proofs served from them.

:func:`take_snapshot` cuts the books (:mod:`audit.liabilities.books`), builds the tree
(:mod:`audit.liabilities.tree`) and stores the snapshot with every leaf, so a period's proofs
can be served long after. :func:`merchant_proof` re-derives a merchant's salt and reads its proof
back from the stored leaves (the tree is rebuilt from them and must give the stored root).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.liabilities.books import MerchantLiabilities, ledger_cut, liabilities_at
from audit.liabilities.models import LiabilityLeaf, LiabilitySnapshot, SnapshotStatus
from audit.liabilities.tree import (
    AMOUNT_FIELDS,
    Leaf,
    MerkleSumTree,
    Sibling,
    build_tree,
    derive_salt,
    leaf_hash,
)
from common.errors import ConflictError, NotFoundError, ValidationError
from common.sql.helpers import utcnow

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str) -> str:
    """``text`` if it is a month written ``YYYY-MM``.

    Raises:
        ValidationError: it is not.
    """
    if not PERIOD.match(text):
        raise ValidationError("period must be YYYY-MM", period=text[:16])
    return text


def period_number(period: str) -> int:
    """The on-chain period ``YYYYMM`` of ``YYYY-MM``."""
    return int(parse_period(period).replace("-", ""))


def _leaf(secret: bytes, period: str, row: MerchantLiabilities) -> Leaf:
    salt = derive_salt(secret, period, row.merchant_id)
    return Leaf(row.merchant_id, leaf_hash(salt, row.merchant_id, row.amounts), row.total)


def take_snapshot(session: Session, period: str, secret: bytes, block_number: int) -> LiabilitySnapshot:
    """Stores ``period``'s tree over the books as they are now, as of ``block_number``; the
    caller commits. A period already snapshotted is returned unchanged (never re-cut).
    """
    parse_period(period)
    existing = session.scalar(select(LiabilitySnapshot).where(LiabilitySnapshot.period == period))
    if existing is not None:
        return existing
    cut = ledger_cut(session)
    rows = liabilities_at(session, cut)
    leaves = [_leaf(secret, period, row) for row in rows]
    tree = build_tree(leaves)
    now = utcnow()
    snapshot = LiabilitySnapshot(
        period=period,
        root="0x" + tree.root.hex(),
        total=tree.total,
        block_number=block_number,
        ledger_entry_id=cut,
        leaf_count=len(leaves),
        status=str(SnapshotStatus.WRITTEN),
        created_at=now,
        updated_at=now,
    )
    session.add(snapshot)
    session.flush()
    session.add_all(
        LiabilityLeaf(
            snapshot_id=snapshot.id,
            merchant_id=row.merchant_id,
            credited_not_minted=row.credited_not_minted,
            payouts_unpaid=row.payouts_unpaid,
            refunds_owed=row.refunds_owed,
            leaf_sum=leaf.sum,
            leaf_hash="0x" + leaf.hash.hex(),
        )
        for row, leaf in zip(rows, leaves, strict=True)
    )
    session.flush()
    return snapshot


def get_snapshot(session: Session, period: str) -> LiabilitySnapshot:
    """The stored snapshot of ``period``.

    Raises:
        NotFoundError: none was taken.
    """
    snapshot = session.scalar(
        select(LiabilitySnapshot).where(LiabilitySnapshot.period == parse_period(period))
    )
    if snapshot is None:
        raise NotFoundError("no liabilities snapshot for this period", period=period)
    return snapshot


def stored_tree(session: Session, snapshot: LiabilitySnapshot) -> MerkleSumTree:
    """The snapshot's tree rebuilt from its stored leaves.

    Raises:
        ConflictError: the leaves do not give the stored root (the rows were altered).
    """
    leaves = [
        Leaf(row.merchant_id, bytes.fromhex(row.leaf_hash[2:]), row.leaf_sum)
        for row in session.scalars(select(LiabilityLeaf).where(LiabilityLeaf.snapshot_id == snapshot.id))
    ]
    tree = build_tree(leaves)
    if "0x" + tree.root.hex() != snapshot.root or tree.total != snapshot.total:
        raise ConflictError("stored leaves do not match the snapshot's root", period=snapshot.period)
    return tree


@dataclass(frozen=True, slots=True)
class MerchantProof:
    """What a merchant needs to check its leaf against the published root."""

    period: str
    merchant_id: str
    salt: bytes
    amounts: dict[str, int]
    leaf_hash: bytes
    leaf_sum: int
    siblings: list[Sibling]
    root: bytes
    total: int
    block_number: int
    tx_hash: str | None
    published: bool

    def to_json(self) -> dict[str, object]:
        """The proof as the API serves it and ``docs/verify_liabilities.py`` reads it."""
        return {
            "period": self.period,
            "merchant_id": self.merchant_id,
            "salt": "0x" + self.salt.hex(),
            "amounts": self.amounts,
            "leaf": {"hash": "0x" + self.leaf_hash.hex(), "sum": str(self.leaf_sum)},
            "siblings": [
                {"hash": "0x" + s.hash.hex(), "sum": str(s.sum), "side": s.side} for s in self.siblings
            ],
            "root": "0x" + self.root.hex(),
            "total": str(self.total),
            "block_number": self.block_number,
            "tx_hash": self.tx_hash,
            "published": self.published,
        }


def merchant_proof(session: Session, period: str, merchant_id: str, secret: bytes) -> MerchantProof:
    """``merchant_id``'s leaf, salt, amounts and proof in ``period``'s tree.

    Raises:
        NotFoundError: no snapshot for the period, or the merchant was owed nothing then.
        ConflictError: the stored leaves no longer give the root, or the secret changed since.
    """
    snapshot = get_snapshot(session, period)
    row = session.get(LiabilityLeaf, (snapshot.id, merchant_id))
    if row is None:
        raise NotFoundError("the merchant had no liabilities in this period", period=period)
    salt = derive_salt(secret, period, merchant_id)
    amounts = (row.credited_not_minted, row.payouts_unpaid, row.refunds_owed)
    if "0x" + leaf_hash(salt, merchant_id, amounts).hex() != row.leaf_hash:
        raise ConflictError("the leaf cannot be re-derived (salt secret changed?)", period=period)
    tree = stored_tree(session, snapshot)
    return MerchantProof(
        period=period,
        merchant_id=merchant_id,
        salt=salt,
        amounts=dict(zip(AMOUNT_FIELDS, amounts, strict=True)),
        leaf_hash=bytes.fromhex(row.leaf_hash[2:]),
        leaf_sum=row.leaf_sum,
        siblings=tree.proof(merchant_id),
        root=tree.root,
        total=tree.total,
        block_number=snapshot.block_number,
        tx_hash=snapshot.tx_hash,
        published=snapshot.status == str(SnapshotStatus.CONFIRMED),
    )

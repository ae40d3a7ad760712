"""Response bodies of proof of liabilities. Sums are decimal strings: they are uint256 on-chain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class LiabilityPeriodRead(BaseModel):
    """A period's root as stored and published (public)."""

    period: str
    root: str
    total: str
    block_number: int
    tx_hash: str | None
    published: bool
    leaves: int


class LeafRead(BaseModel):
    """The merchant's leaf commitment and sum."""

    hash: str
    sum: str


class SiblingRead(BaseModel):
    """A proof step: the sibling node, and whether it is the left or right child."""

    hash: str
    sum: str
    side: Literal["left", "right"]


class LiabilityProofRead(BaseModel):
    """What ``docs/verify_liabilities.py`` reads: the merchant's salt, amounts, leaf and proof."""

    period: str
    merchant_id: str
    salt: str
    amounts: dict[str, int]
    leaf: LeafRead
    siblings: list[SiblingRead]
    root: str
    total: str
    block_number: int
    tx_hash: str | None
    published: bool

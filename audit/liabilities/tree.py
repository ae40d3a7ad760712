"""The Merkle-sum tree of proof of liabilities: exact byte layout, proofs and their check.

Byte layout (all hashes sha256, all sums unsigned 256-bit big-endian, 32 bytes):

* salt of a merchant for a period: ``HMAC-SHA256(secret, "msc-liabilities-v1" 0x00 period 0x00
  merchant_id)`` (UTF-8), so the server re-derives it and a leaf reveals nothing without it;
* leaf commitment: ``sha256(salt || u256(len(id)) || id || u256(a_1) || ... || u256(a_n))`` with
  ``id`` the merchant id in UTF-8 and ``a_i`` the amounts in :data:`AMOUNT_FIELDS` order;
  the leaf's sum is ``a_1 + ... + a_n``;
* node: ``sha256(0x01 || left.hash || u256(left.sum) || right.hash || u256(right.sum))``, its sum
  ``left.sum + right.sum``. The 0x01 prefix keeps a node from ever equalling a leaf commitment
  (whose preimage starts with a 32-byte salt and has no such fixed prefix) in the proof checks;
* leaves are ordered by merchant id; a level with an odd count pairs its last node with an
  empty node ``(32 zero bytes, 0)`` (never duplicated: a duplicate would count its sum twice);
* the empty tree's root is ``sha256(0x01)`` with sum 0;
* a proof is the list of siblings from the leaf up, each ``(hash, sum, side)`` where side is
  ``"left"`` when the sibling is the left child.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from common.errors import ValidationError

AMOUNT_FIELDS = ("credited_not_minted", "payouts_unpaid", "refunds_owed")
EMPTY_HASH = bytes(32)
NODE_PREFIX = b"\x01"
MAX_SUM = 2**256 - 1

Side = Literal["left", "right"]


def u256(value: int) -> bytes:
    """``value`` as 32 big-endian bytes.

    Raises:
        ValidationError: the value is negative or does not fit 256 bits.
    """
    if not 0 <= value <= MAX_SUM:
        raise ValidationError(f"sum {value} is outside uint256", value=str(value))
    return value.to_bytes(32, "big")


def derive_salt(secret: bytes, period: str, merchant_id: str) -> bytes:
    """The merchant's salt for ``period``: HMAC-SHA256 of the server secret (see module doc)."""
    message = b"msc-liabilities-v1\x00" + period.encode() + b"\x00" + merchant_id.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def leaf_hash(salt: bytes, merchant_id: str, amounts: Sequence[int]) -> bytes:
    """The leaf commitment of ``merchant_id`` with ``amounts`` (in :data:`AMOUNT_FIELDS` order)."""
    ident = merchant_id.encode()
    return hashlib.sha256(salt + u256(len(ident)) + ident + b"".join(u256(a) for a in amounts)).digest()


def node_hash(left_hash: bytes, left_sum: int, right_hash: bytes, right_sum: int) -> bytes:
    """The parent of two nodes (see module doc)."""
    return hashlib.sha256(NODE_PREFIX + left_hash + u256(left_sum) + right_hash + u256(right_sum)).digest()


@dataclass(frozen=True, slots=True)
class Leaf:
    """One merchant's leaf: its commitment and sum (the amounts stay with the server)."""

    merchant_id: str
    hash: bytes
    sum: int


@dataclass(frozen=True, slots=True)
class Sibling:
    """A proof step: the sibling node and on which side it sits."""

    hash: bytes
    sum: int
    side: Side


@dataclass(frozen=True, slots=True)
class MerkleSumTree:
    """All levels of a tree, leaves first; ``levels[-1]`` holds the root alone."""

    levels: tuple[tuple[tuple[bytes, int], ...], ...]
    merchant_ids: tuple[str, ...]

    @property
    def root(self) -> bytes:
        """The root hash."""
        return self.levels[-1][0][0]

    @property
    def total(self) -> int:
        """The root's sum: the total of every leaf."""
        return self.levels[-1][0][1]

    def proof(self, merchant_id: str) -> list[Sibling]:
        """The siblings from ``merchant_id``'s leaf up to the root.

        Raises:
            ValidationError: the merchant has no leaf in this tree.
        """
        try:
            index = self.merchant_ids.index(merchant_id)
        except ValueError:
            raise ValidationError("merchant has no leaf in this tree", merchant_id=merchant_id) from None
        siblings: list[Sibling] = []
        for level in self.levels[:-1]:
            partner = index ^ 1
            node = level[partner] if partner < len(level) else (EMPTY_HASH, 0)
            siblings.append(Sibling(node[0], node[1], "left" if partner < index else "right"))
            index //= 2
        return siblings


def build_tree(leaves: Sequence[Leaf]) -> MerkleSumTree:
    """The tree over ``leaves``, ordered by merchant id.

    Raises:
        ValidationError: two leaves share a merchant id, or a sum overflows uint256.
    """
    ordered = sorted(leaves, key=lambda leaf: leaf.merchant_id)
    ids = tuple(leaf.merchant_id for leaf in ordered)
    if len(set(ids)) != len(ids):
        raise ValidationError("a merchant has two leaves")
    if not ordered:
        return MerkleSumTree((((hashlib.sha256(NODE_PREFIX).digest(), 0),),), ())
    for leaf in ordered:
        u256(leaf.sum)
    level = tuple((leaf.hash, leaf.sum) for leaf in ordered)
    levels = [level]
    while len(level) > 1:
        pairs = []
        for i in range(0, len(level), 2):
            left = level[i]
            right = level[i + 1] if i + 1 < len(level) else (EMPTY_HASH, 0)
            total = left[1] + right[1]
            pairs.append((node_hash(left[0], left[1], right[0], right[1]), total))
        level = tuple(pairs)
        levels.append(level)
    # A single leaf is still hashed once with the empty node, so a root is never a bare leaf.
    if len(levels) == 1:
        only = levels[0][0]
        levels.append(((node_hash(only[0], only[1], EMPTY_HASH, 0), only[1]),))
    u256(levels[-1][0][1])
    return MerkleSumTree(tuple(levels), ids)


def root_from_proof(leaf: bytes, leaf_sum: int, siblings: Sequence[Sibling]) -> tuple[bytes, int]:
    """The root (hash, sum) a leaf and its siblings lead to; compare it with the published one."""
    current, total = leaf, leaf_sum
    for sibling in siblings:
        if sibling.side == "left":
            current = node_hash(sibling.hash, sibling.sum, current, total)
        else:
            current = node_hash(current, total, sibling.hash, sibling.sum)
        total += sibling.sum
    return current, total


def verify_proof(leaf: bytes, leaf_sum: int, siblings: Sequence[Sibling], root: bytes, total: int) -> bool:
    """Whether the leaf and siblings lead to ``root`` with sum ``total``."""
    got_root, got_total = root_from_proof(leaf, leaf_sum, siblings)
    return hmac.compare_digest(got_root, root) and got_total == total

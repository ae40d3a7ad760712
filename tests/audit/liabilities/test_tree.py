"""Merkle-sum tree properties: every proof verifies, the root's sum is the total, any change fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.liabilities.tree import (
    EMPTY_HASH,
    Leaf,
    Sibling,
    build_tree,
    derive_salt,
    leaf_hash,
    node_hash,
    root_from_proof,
    verify_proof,
)
from common.errors import ValidationError

SECRET = b"test-secret-not-a-real-one"
amounts = st.tuples(*(st.integers(min_value=0, max_value=10**15) for _ in range(3)))
books = st.dictionaries(st.text(min_size=1, max_size=12), amounts, min_size=1, max_size=20)


def _leaves(book: dict[str, tuple[int, int, int]]) -> list[Leaf]:
    return [Leaf(m, leaf_hash(derive_salt(SECRET, "2026-11", m), m, a), sum(a)) for m, a in book.items()]


@given(books)
def test_everyLeafProofVerifies_andRootSumIsTotal(book: dict[str, tuple[int, int, int]]) -> None:
    leaves = _leaves(book)
    tree = build_tree(leaves)
    assert tree.total == sum(sum(a) for a in book.values())
    for leaf in leaves:
        assert verify_proof(leaf.hash, leaf.sum, tree.proof(leaf.merchant_id), tree.root, tree.total)


@given(books, st.data())
def test_anyChangeOfLeafSumOrSiblingFails(book: dict[str, tuple[int, int, int]], data: st.DataObject) -> None:
    leaves = _leaves(book)
    tree = build_tree(leaves)
    leaf = data.draw(st.sampled_from(leaves))
    proof = tree.proof(leaf.merchant_id)
    flipped = bytes([leaf.hash[0] ^ 1]) + leaf.hash[1:]
    assert not verify_proof(flipped, leaf.sum, proof, tree.root, tree.total)
    assert not verify_proof(leaf.hash, leaf.sum + 1, proof, tree.root, tree.total)
    if leaf.sum:
        assert not verify_proof(leaf.hash, leaf.sum - 1, proof, tree.root, tree.total)
    i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    s = proof[i]
    for changed in (
        Sibling(bytes([s.hash[0] ^ 1]) + s.hash[1:], s.sum, s.side),
        Sibling(s.hash, s.sum + 1, s.side),
        Sibling(s.hash, s.sum, "left" if s.side == "right" else "right"),
    ):
        bad = [*proof[:i], changed, *proof[i + 1 :]]
        assert not verify_proof(leaf.hash, leaf.sum, bad, tree.root, tree.total)


def test_leafCommitmentChangesWithEveryAmountAndTheSalt() -> None:
    salt = derive_salt(SECRET, "2026-11", "m-1")
    base = leaf_hash(salt, "m-1", (1, 2, 3))
    assert base != leaf_hash(salt, "m-1", (1, 2, 4))
    assert base != leaf_hash(salt, "m-1", (2, 1, 3))
    assert base != leaf_hash(derive_salt(SECRET, "2026-12", "m-1"), "m-1", (1, 2, 3))
    assert derive_salt(SECRET, "2026-11", "m-1") == salt != derive_salt(b"other", "2026-11", "m-1")


def test_byteLayoutIsTheDocumentedOne() -> None:
    salt = bytes(range(32))
    expected_leaf = hashlib.sha256(
        salt + (3).to_bytes(32, "big") + b"m-1" + b"".join(v.to_bytes(32, "big") for v in (5, 0, 7))
    ).digest()
    assert leaf_hash(salt, "m-1", (5, 0, 7)) == expected_leaf
    tree = build_tree([Leaf("m-1", expected_leaf, 12)])
    assert (
        tree.root
        == hashlib.sha256(
            b"\x01" + expected_leaf + (12).to_bytes(32, "big") + EMPTY_HASH + bytes(32)
        ).digest()
    )
    assert root_from_proof(expected_leaf, 12, tree.proof("m-1")) == (tree.root, 12)


def test_oddLevelPairsWithEmptyNode_notADuplicate() -> None:
    leaves = [Leaf(m, hashlib.sha256(m.encode()).digest(), s) for m, s in (("a", 1), ("b", 2), ("c", 4))]
    tree = build_tree(leaves)
    ab = node_hash(leaves[0].hash, 1, leaves[1].hash, 2)
    c = node_hash(leaves[2].hash, 4, EMPTY_HASH, 0)
    assert (tree.root, tree.total) == (node_hash(ab, 3, c, 4), 7)


def test_unknownMerchant_duplicateLeaf_andNegativeSumAreRefused() -> None:
    tree = build_tree([Leaf("a", bytes(32), 1)])
    with pytest.raises(ValidationError):
        tree.proof("b")
    with pytest.raises(ValidationError):
        build_tree([Leaf("a", bytes(32), 1), Leaf("a", bytes(32), 2)])
    with pytest.raises(ValidationError):
        build_tree([Leaf("a", bytes(32), -1)])
    assert build_tree([]).total == 0

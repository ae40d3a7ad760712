"""Verify a merchant's proof of liabilities against the chain (see README, "Proof of liabilities").

Usage: python docs/verify_liabilities.py PROOF.json --rpc-url URL --attestation ADDR --msc ADDR
PROOF.json is what GET /v1/merchants/me/liabilities/{period}/proof (or ``python -m audit
liabilities proof``) returns. Exit 0 when every check passes, 1 when one fails.
Byte layout: audit/liabilities/tree.py (sha256; sums as 32-byte big-endian integers).
"""

import argparse
import hashlib
import json
import sys

from web3 import Web3

FIELDS = ("credited_not_minted", "payouts_unpaid", "refunds_owed")


def view(name: str, inputs: list[str], outputs: list[str]) -> dict:
    """A view function's ABI entry (a static struct is returned exactly like its fields)."""
    return {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [{"name": "", "type": t} for t in inputs],
        "outputs": [{"name": "", "type": t} for t in outputs],
    }


ATTESTATION_ABI = [view("attestation", ["uint64"], ["bytes32", "uint256", "uint256", "uint64"])]
MSC_ABI = [view("totalSupply", [], ["uint256"]), view("attestedReserves", [], ["uint256", "uint64"])]


def u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


def leaf_of(proof: dict) -> tuple[bytes, int]:
    """The leaf recomputed from the salt, the merchant id and the amounts."""
    ident = proof["merchant_id"].encode()
    amounts = [int(proof["amounts"][name]) for name in FIELDS]
    if min(amounts) < 0:
        raise ValueError("negative amount")
    salt = bytes.fromhex(proof["salt"].removeprefix("0x"))
    data = salt + u256(len(ident)) + ident + b"".join(u256(a) for a in amounts)
    return hashlib.sha256(data).digest(), sum(amounts)


def root_of(leaf: bytes, total: int, siblings: list) -> tuple[bytes, int]:
    """Folds the siblings from the leaf up; each node is sha256(0x01 || L || sumL || R || sumR)."""
    for s in siblings:
        other, other_sum = bytes.fromhex(s["hash"].removeprefix("0x")), int(s["sum"])
        if other_sum < 0 or s["side"] not in ("left", "right"):
            raise ValueError("bad sibling")
        pair = (other, other_sum, leaf, total) if s["side"] == "left" else (leaf, total, other, other_sum)
        leaf = hashlib.sha256(b"\x01" + pair[0] + u256(pair[1]) + pair[2] + u256(pair[3])).digest()
        total += other_sum
    return leaf, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proof")
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--attestation", required=True, help="LiabilityAttestation address")
    parser.add_argument("--msc", required=True, help="MadiunStableCoin address")
    args = parser.parse_args()
    with open(args.proof, encoding="utf-8") as f:
        proof = json.load(f)
    w3 = Web3(Web3.HTTPProvider(args.rpc_url))
    attestation = w3.eth.contract(address=Web3.to_checksum_address(args.attestation), abi=ATTESTATION_ABI)
    msc = w3.eth.contract(address=Web3.to_checksum_address(args.msc), abi=MSC_ABI)
    leaf, leaf_sum = leaf_of(proof)
    failures = []
    if leaf.hex() != proof["leaf"]["hash"].removeprefix("0x") or leaf_sum != int(proof["leaf"]["sum"]):
        failures.append("the leaf does not match the salt, merchant id and amounts")
    root, total = root_of(leaf, leaf_sum, proof["siblings"])
    period = int(proof["period"].replace("-", ""))
    chain_root, chain_total, block, _ = attestation.functions.attestation(period).call()
    if root != bytes(chain_root):
        failures.append(f"root {root.hex()} is not the published {bytes(chain_root).hex()}")
    if total != chain_total:
        failures.append(f"total {total} is not the published {chain_total}")
    reserves, _ = msc.functions.attestedReserves().call(block_identifier=block)
    supply = msc.functions.totalSupply().call(block_identifier=block)
    if reserves < supply + chain_total:
        failures.append(f"at block {block} reserves {reserves} < supply {supply} + liabilities {chain_total}")
    print(
        "\n".join(f"FAIL: {f}" for f in failures)
        or f"OK: {proof['merchant_id']} owed {leaf_sum}; "
        f"root, total match block {block}; reserves {reserves} >= {supply} + {chain_total}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

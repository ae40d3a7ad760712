"""Gas of the platform's contracts beside the baselines they are measured against.

Part 1, the token: MSC's everyday operations beside a plain OpenZeppelin ERC-20 and Solady's ERC-20.
Part 2, LockStaking and MerchantEscrow beside the published figures of their anchors (Synthetix
StakingRewards; Base's AuthCaptureEscrow), which are quoted, not re-measured here.

All three are compiled and deployed in the same run on a local anvil, and every operation is
measured on each in the same state (sender and receiver already hold tokens, so storage writes
are nonzero-to-nonzero, the common case for a payment token). MSC pays for its pause and freeze
checks; the target is MSC transfer and transferFrom within 10% of OpenZeppelin's.

Usage: ``python bench/gas.py`` (``make bench``) prints the table; ``--write-snapshot`` also
records MSC's figures in bench/gas-snapshot.json, which tests/contracts/test_gas_snapshot.py
holds the contracts to.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "bench" / "gas-snapshot.json"
OPERATIONS = (
    "transfer",
    "transfer (new holder)",
    "transferFrom (to spender)",
    "transferFrom (to third party)",
    "approve",
    "permit",
    "mint",
    "burn",
)
TOKENS = ("MSC", "OpenZeppelin", "Solady")
TARGET_PCT = 10
DAY = 86_400

# Published gas figures of the anchors, as quoted in issue #3 of this project (Synthetix
# StakingRewards' gas report; Base commerce-payments' AuthCaptureEscrow gas report). Our
# operation -> (anchor operation, gas).
ANCHORS: dict[str, tuple[str, int]] = {
    "lock (first, rewards running)": ("Synthetix StakingRewards stake (first)", 101_700),
    "claim": ("Synthetix StakingRewards getReward", 86_400),
    "escrow release": ("Base AuthCaptureEscrow capture", 69_900),
    "escrow refund (full)": ("Base AuthCaptureEscrow refund", 80_100),
}


@dataclass(frozen=True)
class GasTable:
    """Gas used by each operation on each token."""

    gas: dict[str, dict[str, int]]  # token -> operation -> gas

    def overhead_pct(self, operation: str, baseline: str = "OpenZeppelin") -> float:
        """MSC's extra gas over ``baseline`` for ``operation``, in percent."""
        return (
            100.0
            * (self.gas["MSC"][operation] - self.gas[baseline][operation])
            / self.gas[baseline][operation]
        )


def _deploy_tokens(accounts: Any, contracts: Any) -> dict[str, Any]:
    owner = accounts[0]
    msc = contracts.MadiunStableCoin.deploy(owner, owner, owner, owner, owner, owner, {"from": owner})
    msc.attestReserves(10**18, "BENCH", {"from": owner})
    msc.configureMinter(owner, 10**18, {"from": owner})
    return {
        "MSC": msc,
        "OpenZeppelin": contracts.OZBaselineToken.deploy({"from": owner}),
        "Solady": contracts.SoladyBaselineToken.deploy({"from": owner}),
    }


def measure(accounts: Any, contracts: Any, chain: Any) -> GasTable:
    """Deploys the three tokens and measures every operation on each.

    Args:
        accounts: Brownie's ``accounts`` (anvil's development accounts).
        contracts: an object with the contract containers as attributes (``brownie`` or a project).
        chain: Brownie's ``chain``, for timestamps.
    """
    from chain import eip712
    from chain.signer import Signer

    minter, alice, bob, spender = accounts[0], accounts[1], accounts[2], accounts[3]
    alice_key = Signer.dev(1)
    tokens = _deploy_tokens(accounts, contracts)
    gas: dict[str, dict[str, int]] = {}
    for label, token in tokens.items():
        mint: Callable[..., Any] = token.mint
        mint(alice, 10**12, {"from": minter})
        mint(bob, 10**12, {"from": minter})
        mint(minter, 10**12, {"from": minter})
        token.approve(spender, 10**12, {"from": alice})
        row: dict[str, int] = {}
        row["transfer"] = token.transfer(bob, 1_000, {"from": alice}).gas_used
        row["transfer (new holder)"] = token.transfer(accounts[5], 1_000, {"from": alice}).gas_used
        token.transfer(spender, 1_000, {"from": bob})  # the spender holds tokens already, like a vault
        row["transferFrom (to spender)"] = token.transferFrom(
            alice, spender, 1_000, {"from": spender}
        ).gas_used
        row["transferFrom (to third party)"] = token.transferFrom(
            alice, bob, 1_000, {"from": spender}
        ).gas_used
        row["approve"] = token.approve(accounts[6], 5_000, {"from": alice}).gas_used
        domain = eip712.Domain(token.name(), "1", chain.id, token.address)
        deadline = chain.time() + 3600
        typed = eip712.permit(
            domain, alice.address, accounts[7].address, 7_000, token.nonces(alice), deadline
        )
        v, r, s = eip712.split_signature(alice_key.sign_typed_data(typed).signature)
        row["permit"] = token.permit(alice, accounts[7], 7_000, deadline, v, r, s, {"from": bob}).gas_used
        row["mint"] = mint(bob, 1_000, {"from": minter}).gas_used
        row["burn"] = token.burn(1_000, {"from": minter}).gas_used
        gas[label] = row
    return GasTable(gas)


def _gas_of_batch(contract: Any, function: str, args: list[Any], sender: Any) -> int:
    """Gas of one large batch transaction, sent through web3 and awaited by its receipt.

    Brownie's confirmation polling can miss a multi-million-gas transaction on anvil for a moment
    after the sender's nonce has moved, and then reports it as dropped; waiting for the receipt
    has no such race.
    """
    from brownie import web3

    data = getattr(contract, function).encode_input(*args)
    tx_hash = web3.eth.send_transaction({"from": sender.address, "to": contract.address, "data": data})
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1:
        raise RuntimeError(f"{function} reverted in the benchmark (tx {tx_hash.hex()})")
    return int(receipt["gasUsed"])


def _relayed_refund(escrow: Any, payment_id: bytes, amount: int, relayer: Any, chain: Any) -> int:
    """Gas of a refund the merchant (development account 2) signed and ``relayer`` sends."""
    from chain import eip712
    from chain.signer import Signer

    nonce, deadline = bytes(32), int(chain[-1].timestamp) + 3_600
    typed = eip712.refund_authorization(
        eip712.escrow_domain(chain.id, escrow.address), payment_id, amount, nonce, deadline
    )
    signature = Signer.dev(2).sign_typed_data(typed).signature
    tx = escrow.refundWithAuthorization(payment_id, amount, nonce, deadline, signature, {"from": relayer})
    return int(tx.gas_used)


def measure_platform(accounts: Any, contracts: Any, chain: Any) -> dict[str, int]:
    """Deploys MSC, LockStaking and MerchantEscrow and measures their user-facing operations."""
    from eth_utils import keccak

    owner, holder, merchant, payer, keeper = accounts[0], accounts[1], accounts[2], accounts[3], accounts[4]
    msc = _deploy_tokens(accounts, contracts)["MSC"]
    staking = contracts.LockStaking.deploy(msc, owner, owner, owner, owner, {"from": owner})
    escrow = contracts.MerchantEscrow.deploy(msc, owner, owner, owner, owner, {"from": owner})
    for who in (owner, holder, merchant, payer):  # a payer who paid in MSC holds MSC
        msc.mint(who, 10**12, {"from": owner})
    msc.approve(staking, 2**256 - 1, {"from": owner})
    msc.approve(staking, 2**256 - 1, {"from": holder})
    msc.approve(escrow, 2**256 - 1, {"from": owner})
    staking.setTier(1, 30 * DAY, 10_000, 500, True, {"from": owner})
    staking.fundRewards(10**9, 60 * DAY, {"from": owner})
    staking.lock(10**6, 1, {"from": owner})  # someone is locked already, as in a live pool

    def later() -> None:
        # Time passes between actions in a live pool, so each one accrues rewards (a storage write);
        # measuring within one second would skip it and make the figures depend on timing.
        chain.sleep(60)
        chain.mine()

    gas: dict[str, int] = {}
    later()
    first = staking.lock(10**6, 1, {"from": holder})
    gas["lock (first, rewards running)"] = first.gas_used
    lock_id = first.return_value
    later()
    early_id = staking.lock(10**6, 1, {"from": holder}).return_value
    chain.sleep(DAY)
    chain.mine()
    gas["claim"] = staking.claim(lock_id, {"from": holder}).gas_used
    later()
    gas["exit early"] = staking.exitEarly(early_id, {"from": holder}).gas_used
    chain.sleep(31 * DAY)
    chain.mine()
    gas["withdraw (principal + rewards)"] = staking.withdraw(lock_id, {"from": holder}).gas_used

    def pid(n: int) -> bytes:
        return keccak(text=f"bench-{n}")

    gas["escrow deposit"] = escrow.deposit(pid(0), merchant, payer, 50_000, DAY, {"from": owner}).gas_used
    escrow.deposit(pid(1), merchant, payer, 50_000, DAY, {"from": owner})
    escrow.deposit(pid(2), merchant, payer, 50_000, DAY, {"from": owner})
    gas["escrow dispute"] = escrow.dispute(pid(2), {"from": payer}).gas_used
    gas["escrow refund (full)"] = escrow.refund(pid(1), 50_000, {"from": merchant}).gas_used
    escrow.deposit(pid(3), merchant, payer, 50_000, DAY, {"from": owner})
    relayed = _relayed_refund(escrow, pid(3), 50_000, keeper, chain)
    gas["escrow refund with authorization (full, relayed)"] = relayed
    batch = [(pid(100 + i), merchant, payer, 1_000 + i, DAY) for i in range(100)]
    deposit_batch = _gas_of_batch(escrow, "depositBatch", [batch], owner)
    gas["escrow deposit batch of 100, per payment"] = deposit_batch // 100
    chain.sleep(DAY + 1)
    chain.mine()
    gas["escrow release"] = escrow.release(pid(0), {"from": keeper}).gas_used
    release_batch = _gas_of_batch(escrow, "releaseBatch", [[p[0] for p in batch]], keeper)
    gas["escrow release batch of 100"] = release_batch
    gas["escrow release batch of 100, per payment"] = release_batch // 100
    return gas


def measure_carbon(accounts: Any, contracts: Any, chain: Any) -> dict[str, int]:
    """Deploys CarbonCredits and measures issuance, transfers, retirements and bridge-back."""
    from chain import eip712
    from chain.signer import Signer

    admin, holder, buyer, relayer = accounts[0], accounts[1], accounts[2], accounts[3]
    carbon = contracts.CarbonCredits.deploy(admin, admin, admin, admin, admin, {"from": admin})
    carbon.registerProject("SRN-PPI-BENCH", 0, 0, "Madiun", {"from": admin})
    ids = []
    for year in (2024, 2025, 2026):
        ids.append(
            carbon.verifyVintage(
                1, year, 10**9, b"\x01" * 32, "bafkdocs", "bafkmeta", {"from": admin}
            ).return_value
        )
    token = ids[0]
    gas: dict[str, int] = {}
    gas["carbon issue (mint)"] = carbon.issue(token, holder, 100_000, {"from": admin}).gas_used
    for other in ids[1:]:
        carbon.issue(other, holder, 100_000, {"from": admin})
    carbon.safeTransferFrom(holder, buyer, token, 1, b"", {"from": holder})  # the buyer holds some already
    gas["carbon transfer"] = carbon.safeTransferFrom(holder, buyer, token, 10, b"", {"from": holder}).gas_used
    gas["carbon batch transfer (3 vintages)"] = carbon.safeBatchTransferFrom(
        holder, buyer, ids, [10, 10, 10], b"", {"from": holder}
    ).gas_used
    retirement = (holder.address, token, 5, holder.address, "PT Kopi Madiun", "Offset 2025", 1, 2)
    gas["carbon retire (certificate)"] = carbon.retire(retirement, {"from": holder}).gas_used
    deadline = chain.time() + 3600
    domain = eip712.carbon_domain(chain.id, carbon.address)
    typed = eip712.retirement(domain, retirement, carbon.nonces(holder), deadline)
    signature = Signer.dev(1).sign_typed_data(typed).signature
    gas["carbon retire with signature (relayed)"] = carbon.retireWithSig(
        retirement, deadline, signature, {"from": relayer}
    ).gas_used
    request = carbon.requestBridgeBack(token, 50, "SRN-PPI/ACC/1", {"from": holder})
    gas["carbon bridge-back request"] = request.gas_used
    gas["carbon bridge-back confirm (burn)"] = carbon.confirmBridgeBack(
        request.return_value, "SRN-PPI/TX/1", {"from": admin}
    ).gas_used
    return gas


def measure_market(accounts: Any, contracts: Any, chain: Any) -> dict[str, int]:
    """Deploys MSC, CarbonCredits and CarbonMarket and measures a single fill and a batch of 50."""
    from chain import eip712
    from chain.signer import Signer

    admin, seller, buyer = accounts[0], accounts[1], accounts[2]
    seller_key, buyer_key = Signer.dev(1), Signer.dev(2)
    msc = _deploy_tokens(accounts, contracts)["MSC"]
    carbon = contracts.CarbonCredits.deploy(admin, admin, admin, admin, admin, {"from": admin})
    market = contracts.CarbonMarket.deploy(
        msc, carbon, admin, admin, admin, accounts[3], 25, 10**6, {"from": admin}
    )
    carbon.registerProject("SRN-PPI-BENCH", 0, 0, "Madiun", {"from": admin})
    token = carbon.verifyVintage(
        1, 2025, 10**9, b"\x01" * 32, "bafkdocs", "bafkmeta", {"from": admin}
    ).return_value
    carbon.issue(token, seller, 10**6, {"from": admin})
    carbon.issue(token, buyer, 1, {"from": admin})  # the buyer holds credits already, as a trader does
    msc.mint(buyer, 10**12, {"from": admin})
    msc.mint(seller, 1, {"from": admin})
    msc.mint(accounts[3], 1, {"from": admin})
    msc.approve(market, 2**256 - 1, {"from": buyer})
    carbon.setApprovalForAll(market, True, {"from": seller})
    expiry = chain.time() + 86_400
    domain = eip712.market_domain(chain.id, market.address)

    def signed(key: Any, trader: Any, side: int, salt: int) -> tuple[tuple[Any, ...], bytes]:
        o = (trader.address, side, token, 10, 120_000, expiry, salt, 0)
        return o, key.sign_typed_data(eip712.order(domain, o)).signature

    def fill(salt: int) -> tuple[Any, ...]:
        buy, buy_sig = signed(buyer_key, buyer, 0, salt)
        sell, sell_sig = signed(seller_key, seller, 1, salt)
        return (buy, buy_sig, sell, sell_sig, 10, 120_000)

    gas: dict[str, int] = {}
    gas["market fill (single)"] = market.settle(fill(1), {"from": admin}).gas_used
    batch = _gas_of_batch(market, "settleBatch", [[fill(100 + i) for i in range(50)]], admin)
    gas["market batch of 50 fills"] = batch
    gas["market batch of 50 fills, per fill"] = batch // 50
    return gas


def measure_liabilities(accounts: Any, contracts: Any, chain: Any) -> dict[str, int]:
    """Deploys LiabilityAttestation and measures a month's publish (the first period also writes
    the latest-period slot from zero)."""
    owner = accounts[0]
    attestation = contracts.LiabilityAttestation.deploy(owner, owner, {"from": owner})
    gas: dict[str, int] = {}
    first = attestation.publish(202611, b"\x01" * 32, 10**12, chain.height, {"from": owner})
    gas["liabilities publish (first period)"] = first.gas_used
    later = attestation.publish(202612, b"\x02" * 32, 10**12, chain.height, {"from": owner})
    gas["liabilities publish (next period)"] = later.gas_used
    return gas


def render_platform(gas: dict[str, int]) -> str:
    """LockStaking and MerchantEscrow beside their anchors, as a Markdown table."""
    lines = ["| operation | gas | anchor | anchor gas | vs anchor |", "| --- | ---: | --- | ---: | ---: |"]
    for op, used in gas.items():
        if op in ANCHORS:
            name, anchor = ANCHORS[op]
            lines.append(
                f"| {op} | {used:,} | {name} | {anchor:,} | {100.0 * (used - anchor) / anchor:+.1f}% |"
            )
        else:
            lines.append(f"| {op} | {used:,} | | | |")
    return "\n".join(lines)


def render(table: GasTable) -> str:
    """The comparison as a Markdown table."""
    lines = [
        "| operation | MSC | OpenZeppelin ERC20 | Solady ERC20 | MSC vs OZ |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for op in OPERATIONS:
        g = {t: table.gas[t][op] for t in TOKENS}
        pct = table.overhead_pct(op)
        lines.append(f"| {op} | {g['MSC']:,} | {g['OpenZeppelin']:,} | {g['Solady']:,} | {pct:+.1f}% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write-snapshot", action="store_true", help="record MSC's gas in bench/gas-snapshot.json"
    )
    args = parser.parse_args(argv)

    import brownie
    from brownie import network, project

    sys.path.insert(0, str(ROOT))
    proj = project.load(ROOT, name="MSCBench")
    network.connect("msc-bench")
    try:
        table = measure(brownie.accounts, proj, brownie.chain)
        platform = measure_platform(brownie.accounts, proj, brownie.chain)
        carbon = measure_carbon(brownie.accounts, proj, brownie.chain)
        market = measure_market(brownie.accounts, proj, brownie.chain)
        liabilities = measure_liabilities(brownie.accounts, proj, brownie.chain)
    finally:
        network.disconnect()
    print("\nGas used per transaction (anvil, solc 0.8.30, optimizer 10,000 runs):\n")
    print(render(table))
    verdicts = []
    for op in ("transfer", "transferFrom (to spender)", "transferFrom (to third party)"):
        pct = table.overhead_pct(op)
        verdicts.append(
            f"MSC {op}: {pct:+.1f}% vs OpenZeppelin -> {'MET' if pct <= TARGET_PCT else 'MISSED'}"
        )
    print(f"\nTarget: MSC transfer and transferFrom within {TARGET_PCT}% of OpenZeppelin ERC20")
    print(
        "(A third-party transferFrom must read two words OpenZeppelin does not: the pause flag and the\n"
        " spender's freeze word, 2 x 2,100 gas cold -- 10.4% of OpenZeppelin's transferFrom by themselves.)"
    )
    print("\n".join(verdicts))
    print("\nLockStaking and MerchantEscrow beside their anchors' published figures:\n")
    print(render_platform(platform))
    missed = [op for op, (_name, anchor) in ANCHORS.items() if platform[op] > anchor]
    verdict = "MET" if not missed else "MISSED for " + ", ".join(missed)
    print(f"\nTarget: at or under the anchors' figures -> {verdict}")
    print("\nCarbonCredits (ERC-1155):\n")
    print(render_platform(carbon))
    print("\nCarbonMarket (delivery-versus-payment fills of signed orders):\n")
    print(render_platform(market))
    print("\nLiabilityAttestation (the monthly proof-of-liabilities root):\n")
    print(render_platform(liabilities))
    if args.write_snapshot:
        snapshot = {
            "MadiunStableCoin": table.gas["MSC"],
            "platform": platform,
            "carbon": carbon,
            "market": market,
            "liabilities": liabilities,
        }
        SNAPSHOT.write_text(json.dumps(snapshot, indent=2) + "\n")
        print(f"\nwrote {SNAPSHOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

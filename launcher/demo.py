"""The demo a newcomer sees: reserves attested, MSC minted to a merchant, a merchant payment,
a customer payment through the escrow, and a lock that earns rewards.

It talks to the chain only through :mod:`chain` (web3.py, local keys), as any integration would.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.logs import DISCARD

from chain.platform import Platform
from chain.sender import TransactionSender
from chain.signer import Signer
from common.money import format_idr, rupiah

DEMO_RESERVES = rupiah(1_000_000_000)  # Rp 1 miliar held at the issuing bank
DEMO_MINTER_ALLOWANCE = rupiah(500_000_000)
DEMO_MINT = rupiah(250_000)
DEMO_PAYMENT = rupiah(15_000)
DEMO_ESCROWED = rupiah(20_000)
DEMO_LOCKED = rupiah(100_000)
DEMO_REWARDS = rupiah(50_000)
DAY = 86_400


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for printing and for the launcher's test."""

    issuer: str
    merchant: str
    supplier: str
    mint_tx: str
    transfer_tx: str
    merchant_balance: int
    supplier_balance: int
    total_supply: int
    reserves: int
    escrow_payment_id: str
    lock_id: int
    staking_principal: int


def run_demo(platform: Platform) -> DemoResult:
    """Issuer attests reserves and mints to a merchant (a warung); the merchant pays a supplier."""
    issuer, merchant, supplier = Signer.dev(0), Signer.dev(1), Signer.dev(2)
    msc = platform.msc
    as_issuer = TransactionSender(platform.w3, issuer, platform.decoder)
    as_merchant = TransactionSender(platform.w3, merchant, platform.decoder)

    # On top of whatever MSC already circulates (the pilot city's, with ``msc up --pilot``).
    reserves = DEMO_RESERVES + msc.functions.totalSupply().call()
    as_issuer.transact(msc.functions.attestReserves(reserves, "DEMO/BANK-JATIM/ATTESTATION/2026-11"))
    as_issuer.transact(msc.functions.configureMinter(issuer.address, DEMO_MINTER_ALLOWANCE))
    minted = as_issuer.transact(msc.functions.mint(merchant.address, DEMO_MINT))
    paid = as_merchant.transact(msc.functions.transfer(supplier.address, DEMO_PAYMENT))

    # A customer's payment, settled into the escrow by the settlement service (the issuer here),
    # released to the merchant when the customer confirms.
    customer = Signer.dev(3)
    escrow, staking = platform.escrow, platform.staking
    payment_id = Web3.keccak(text="demo-pi-payment-0001")
    as_issuer.transact(msc.functions.mint(issuer.address, DEMO_ESCROWED + DEMO_REWARDS))
    as_issuer.transact(msc.functions.approve(escrow.address, DEMO_ESCROWED))
    as_issuer.transact(
        escrow.functions.deposit(payment_id, merchant.address, customer.address, DEMO_ESCROWED, DAY)
    )
    TransactionSender(platform.w3, customer, platform.decoder).transact(escrow.functions.release(payment_id))

    # The merchant locks MSC in the 90-day tier the operator offers, and rewards are funded.
    as_issuer.transact(staking.functions.setTier(3, 90 * DAY, 20_000, 1_000, True))
    as_issuer.transact(msc.functions.approve(staking.address, DEMO_REWARDS))
    as_issuer.transact(staking.functions.fundRewards(DEMO_REWARDS, 30 * DAY))
    as_merchant.transact(msc.functions.approve(staking.address, DEMO_LOCKED))
    locked = as_merchant.transact(staking.functions.lock(DEMO_LOCKED, 3))
    (lock_event,) = staking.events.Locked().process_receipt(locked, errors=DISCARD)

    reserves, _ = msc.functions.attestedReserves().call()
    return DemoResult(
        issuer=issuer.address,
        merchant=merchant.address,
        supplier=supplier.address,
        mint_tx=minted["transactionHash"].to_0x_hex(),
        transfer_tx=paid["transactionHash"].to_0x_hex(),
        merchant_balance=msc.functions.balanceOf(merchant.address).call(),
        supplier_balance=msc.functions.balanceOf(supplier.address).call(),
        total_supply=msc.functions.totalSupply().call(),
        reserves=reserves,
        escrow_payment_id=payment_id.to_0x_hex(),
        lock_id=lock_event.args["lockId"],
        staking_principal=staking.functions.totalPrincipal().call(),
    )


def describe(result: DemoResult) -> str:
    """The demo's outcome in a few lines."""
    return "\n".join(
        [
            f"  issuer   {result.issuer} attested reserves of {format_idr(result.reserves)}",
            f"  merchant {result.merchant} was minted {format_idr(DEMO_MINT)}  (tx {result.mint_tx})",
            f"  merchant paid supplier {result.supplier} {format_idr(DEMO_PAYMENT)}"
            f"  (tx {result.transfer_tx})",
            f"  a customer's {format_idr(DEMO_ESCROWED)} went through the escrow (payment "
            f"{result.escrow_payment_id[:18]}…) and was released on the customer's confirmation",
            f"  merchant locked {format_idr(result.staking_principal)} for 90 days (lock #{result.lock_id}), "
            f"earning from {format_idr(DEMO_REWARDS)} of funded rewards",
            f"  balances: merchant {format_idr(result.merchant_balance)}, "
            f"supplier {format_idr(result.supplier_balance)}; supply {format_idr(result.total_supply)}",
        ]
    )

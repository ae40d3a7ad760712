"""The chart of accounts the settlement flows post to.

Each movement is one or two single-currency entries; a conversion between Pi and Rupiah goes
through the ``fx_conversion`` accounts (one per currency, the classic "currency trading account"
method), so every entry balances in its own currency and the pair of ``fx_conversion`` balances
shows the platform's Pi position against the Rupiah it promised for it.

PI (minor units of 10^-7 Pi):

* ``pi_platform_wallet`` asset — Pi held in the platform's Pi wallet (mirrors Horizon).
* ``pi_received`` liability — Pi received for payments and not yet converted (a clearing account:
  zero once every received payment is converted).
* ``fees_income`` income — conversion fees kept in Pi.
* ``fx_conversion`` equity — Pi the platform bought at quotes.

IDR (sen; 1 MSC = 1 sen):

* ``fx_conversion`` equity — Rupiah the platform promised at quotes.
* ``idr_owed_to_merchant:<merchant>`` liability — converted, not yet minted as MSC.
* ``msc_minted_to_escrow:<merchant>`` liability — MSC minted into the merchant escrow, not released.
* ``msc_merchant_balance:<merchant>`` liability — MSC released to the merchant's wallet.
* ``merchant_payouts_pending`` liability — MSC burned for redemption, Rupiah transfer not yet paid.
* ``payouts_failed`` liability — redemptions whose bank transfer failed, awaiting reversal.
* ``fees_income`` income — redemption fees.
* ``bank_payouts`` asset — the operator's Rupiah bank account payouts are paid from (reserves).
* ``customer_refunds_owed`` liability — MSC the escrow paid back to the platform (the payer of
  record of every deposit) for customers: merchants' refunds, the payer's share of a dispute, a
  dispute decided by default, the guarantee fund's cover. The platform owes it to the customers as
  a Pi refund; :mod:`settlement.paybacks` pays it back in Pi and burns the MSC, which clears it.
* ``guarantee_fund`` liability — MSC in the escrow's guarantee fund (the operator's, withdrawable),
  equal to the escrow's ``totals().guaranteeFund``.
* ``guarantee_fund_contributions`` equity — the other side of the fund's money from outside the
  books: debited when the operator pays MSC in, credited when it withdraws; its debit balance is
  the operator's net contribution (like ``fx_conversion``, an equity account read on its debit side).
"""

from __future__ import annotations

from dataclasses import dataclass

from settlement.ledger.models import AccountKind, Currency


@dataclass(frozen=True, slots=True)
class AccountRef:
    """How flows name an account: created on first use with this kind and owner."""

    code: str
    currency: Currency
    kind: AccountKind
    owner: str | None = None


PI_PLATFORM_WALLET = AccountRef("pi_platform_wallet", Currency.PI, AccountKind.ASSET)
PI_RECEIVED = AccountRef("pi_received", Currency.PI, AccountKind.LIABILITY)
FEES_INCOME_PI = AccountRef("fees_income", Currency.PI, AccountKind.INCOME)
FX_CONVERSION_PI = AccountRef("fx_conversion", Currency.PI, AccountKind.EQUITY)
FX_CONVERSION_IDR = AccountRef("fx_conversion", Currency.IDR, AccountKind.EQUITY)
FEES_INCOME_IDR = AccountRef("fees_income", Currency.IDR, AccountKind.INCOME)
MERCHANT_PAYOUTS_PENDING = AccountRef("merchant_payouts_pending", Currency.IDR, AccountKind.LIABILITY)
PAYOUTS_FAILED = AccountRef("payouts_failed", Currency.IDR, AccountKind.LIABILITY)
BANK_PAYOUTS = AccountRef("bank_payouts", Currency.IDR, AccountKind.ASSET)


def idr_owed_to_merchant(merchant_id: str) -> AccountRef:
    """Rupiah owed to ``merchant_id`` for converted payments not yet minted as MSC."""
    return AccountRef(f"idr_owed_to_merchant:{merchant_id}", Currency.IDR, AccountKind.LIABILITY, merchant_id)


def msc_minted_to_escrow(merchant_id: str) -> AccountRef:
    """MSC minted into the escrow for ``merchant_id`` and not yet released."""
    return AccountRef(f"msc_minted_to_escrow:{merchant_id}", Currency.IDR, AccountKind.LIABILITY, merchant_id)


def msc_merchant_balance(merchant_id: str) -> AccountRef:
    """MSC released to ``merchant_id``'s wallet and not yet redeemed."""
    return AccountRef(f"msc_merchant_balance:{merchant_id}", Currency.IDR, AccountKind.LIABILITY, merchant_id)


CUSTOMER_REFUNDS_OWED = AccountRef("customer_refunds_owed", Currency.IDR, AccountKind.LIABILITY)
GUARANTEE_FUND = AccountRef("guarantee_fund", Currency.IDR, AccountKind.LIABILITY)
GUARANTEE_FUND_CONTRIBUTIONS = AccountRef("guarantee_fund_contributions", Currency.IDR, AccountKind.EQUITY)

"""Redeeming from the portal on a real anvil: the custodial key signs only after the owner's code,
the API's write-ahead path burns exactly the amount, a double submit redeems once, and a refusal
(no code, wrong code, a cashier, more than the wallet holds) signs and moves nothing."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from eth_account import Account
from sqlalchemy import select

from accounts.errors import PermissionDeniedError, SecondFactorRequiredError
from accounts.service import AccountService
from api.merchants.models import Merchant
from chain.eip712 import authorization as eip712_authorization
from chain.eip712 import msc_domain
from chain.signer import Signer
from custody.service import CustodyService
from merchant_money import bank_accounts
from merchant_money.errors import BankAccountMissingError, NotCustodialError
from merchant_money.redeem import PortalRedemptions, new_submission
from settlement.payouts.models import Payout, PayoutStatus
from settlement.redemption.errors import InsufficientBalanceError, InvalidAuthorizationError
from settlement.redemption.models import Redemption
from settlement.redemption.service import Authorization, RedemptionService
from tests.accounts.conftest import PASSWORD, address, email
from tests.api.support import Db
from tests.portal.money.conftest import FUNDS, Person, Shop, code, confirm, counts, custodial_shop, sign_up
from tests.settlement.ledger.support import Clock
from tests.settlement.minting.support import Chain
from tests.support.factories import add_merchant

AMOUNT = 250_000  # Rp 2.500


def test_the_owner_redeems_with_the_custodial_wallet_and_the_payout_is_paid(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    portal_redemptions: PortalRedemptions,
    redemptions: RedemptionService,
    clock: Clock,
) -> None:
    supply = chain.supply()
    payout_id = portal_redemptions.redeem_custodial(
        shop.merchant_id,
        new_submission(),
        AMOUNT,
        confirm(accounts, shop.owner, shop.merchant_id, code(shop.owner, clock)),
    )
    assert chain.balance(shop.address) == FUNDS - AMOUNT
    assert chain.supply() == supply - AMOUNT  # burned: exactly the amount
    with db.sessions() as session:
        payout = session.get(Payout, payout_id)
        assert payout is not None
        assert (payout.status, payout.amount, payout.merchant_id) == (
            PayoutStatus.PROCESSING,
            AMOUNT,
            str(shop.merchant_id),
        )
        assert (
            payout.bank_account == bank_accounts.require_current(session, shop.merchant_id).payout_reference
        )
        redemption = session.get(Redemption, payout_id)
        assert redemption is not None and redemption.merchant_address == shop.address
    redemptions.mark_paid(payout_id, "BRI-TRF-0001")
    [(listed, history)] = portal_redemptions.payouts(shop.merchant_id)
    assert listed.id == payout_id and listed.status == PayoutStatus.PAID
    assert [h.to_status for h in history] == ["processing", "paid"]


def test_a_double_submit_redeems_once_without_asking_the_code_again(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    portal_redemptions: PortalRedemptions,
    clock: Clock,
) -> None:
    submission = new_submission()
    first = portal_redemptions.redeem_custodial(
        shop.merchant_id,
        submission,
        AMOUNT,
        confirm(accounts, shop.owner, shop.merchant_id, code(shop.owner, clock)),
    )
    before = (counts(db, shop.merchant_id), chain.balance(shop.address), chain.supply())

    def must_not_ask() -> None:
        raise AssertionError("a replay needs no second factor")

    again = portal_redemptions.redeem_custodial(shop.merchant_id, submission, AMOUNT, must_not_ask)
    assert again == first
    assert (counts(db, shop.merchant_id), chain.balance(shop.address), chain.supply()) == before


def test_a_submission_left_half_way_is_finished_by_the_reload(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    portal_redemptions: PortalRedemptions,
    redemptions: RedemptionService,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process dies after the relay, before the payout is written: the reload records it once."""
    submission = new_submission()
    real_request = RedemptionService.request

    def crash(self: RedemptionService, *args: object, **kwargs: object) -> Payout:
        raise RuntimeError("process killed after the relay")

    monkeypatch.setattr(RedemptionService, "request", crash)
    with pytest.raises(RuntimeError):
        portal_redemptions.redeem_custodial(
            shop.merchant_id,
            submission,
            AMOUNT,
            confirm(accounts, shop.owner, shop.merchant_id, code(shop.owner, clock)),
        )
    assert chain.balance(shop.address) == FUNDS - AMOUNT  # relayed: the MSC left the wallet
    assert counts(db, shop.merchant_id)["payouts"] == 0
    monkeypatch.setattr(RedemptionService, "request", real_request)
    payout_id = portal_redemptions.redeem_custodial(shop.merchant_id, submission, AMOUNT, lambda: None)
    with db.sessions() as session:
        payout = session.get(Payout, payout_id)
        assert payout is not None and payout.amount == AMOUNT and payout.status == PayoutStatus.PROCESSING
    assert counts(db, shop.merchant_id)["payouts"] == 1 and chain.balance(shop.address) == FUNDS - AMOUNT


def test_no_code_a_wrong_code_or_a_cashier_sign_and_move_nothing(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    portal_redemptions: PortalRedemptions,
    clock: Clock,
) -> None:
    mail = email()
    invitation = accounts.invite_cashier(shop.owner.token, shop.merchant_id, mail)
    cashier = Person(accounts.accept_invitation(invitation.token, PASSWORD, "Mas Budi"), "", None)
    cashier.token = accounts.sign_in(mail, PASSWORD, address()).token
    before = (counts(db, shop.merchant_id), chain.balance(shop.address), chain.supply())
    attempts = [
        (confirm(accounts, shop.owner, shop.merchant_id, None), SecondFactorRequiredError),
        (confirm(accounts, shop.owner, shop.merchant_id, "000000"), SecondFactorRequiredError),
        (confirm(accounts, cashier, shop.merchant_id, "123456"), PermissionDeniedError),
    ]
    for check, error in attempts:
        with pytest.raises(error):
            portal_redemptions.redeem_custodial(shop.merchant_id, new_submission(), AMOUNT, check)
    assert (counts(db, shop.merchant_id), chain.balance(shop.address), chain.supply()) == before


def test_more_than_the_wallet_holds_is_refused_before_the_code_is_used(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    portal_redemptions: PortalRedemptions,
    clock: Clock,
) -> None:
    value = code(shop.owner, clock)
    before = counts(db, shop.merchant_id)
    with pytest.raises(InsufficientBalanceError):
        portal_redemptions.redeem_custodial(
            shop.merchant_id,
            new_submission(),
            FUNDS + 1,
            confirm(accounts, shop.owner, shop.merchant_id, value),
        )
    assert counts(db, shop.merchant_id) == before
    # the code was not used: it still confirms a redemption the wallet covers
    portal_redemptions.redeem_custodial(
        shop.merchant_id, new_submission(), AMOUNT, confirm(accounts, shop.owner, shop.merchant_id, value)
    )
    assert chain.balance(shop.address) == FUNDS - AMOUNT


def test_without_a_bank_account_or_a_custodial_wallet_nothing_is_signed(
    db: Db,
    chain: Chain,
    accounts: AccountService,
    custody: CustodyService,
    portal_redemptions: PortalRedemptions,
    clock: Clock,
) -> None:
    shop = custodial_shop(db, chain, accounts, custody, clock)
    with db.sessions.begin() as session:  # retire the account on file
        bank_accounts.current(session, shop.merchant_id).current_for = None  # type: ignore[union-attr]
    before = counts(db, shop.merchant_id)
    with pytest.raises(BankAccountMissingError):
        portal_redemptions.redeem_custodial(shop.merchant_id, new_submission(), AMOUNT, lambda: None)
    own = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        bank_accounts.change(session, own, bank_accounts.clean("BRI", "1234567", "Sri"), None, clock.now)
    with pytest.raises(NotCustodialError):
        portal_redemptions.redeem_custodial(own, new_submission(), AMOUNT, lambda: None)
    assert counts(db, shop.merchant_id) == before


def own_wallet_shop(db: Db, clock: Clock) -> tuple[uuid.UUID, Signer]:
    """A merchant with its own wallet (a fresh key the test holds) and a bank account."""
    owner_wallet = Signer(Account.create())
    merchant_id = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        merchant = session.get(Merchant, merchant_id)
        assert merchant is not None
        merchant.evm_address = owner_wallet.address
        bank_accounts.change(
            session, merchant_id, bank_accounts.clean("BNI", "7654321", "Sri"), None, clock.now
        )
    return merchant_id, owner_wallet


def test_an_own_wallet_signature_redeems_through_the_same_path(
    db: Db, chain: Chain, accounts: AccountService, portal_redemptions: PortalRedemptions, clock: Clock
) -> None:
    merchant_id, owner_wallet = own_wallet_shop(db, clock)
    owner = sign_up(accounts, merchant_id, clock)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(owner_wallet.address, FUNDS))
    typed = portal_redemptions.wallet_typed_data(merchant_id)  # what the page hands the wallet
    typed["message"]["value"] = AMOUNT  # what the page's script fills in
    message = typed["message"]
    auth = Authorization(
        owner_wallet.address,
        AMOUNT,
        message["validAfter"],
        message["validBefore"],
        bytes.fromhex(message["nonce"][2:]),
        bytes(owner_wallet.sign_typed_data(typed).signature),
    )
    check = confirm(accounts, owner, merchant_id, code(owner, clock))
    payout_id = portal_redemptions.redeem_signed(merchant_id, new_submission(), AMOUNT, auth, check)
    assert chain.balance(owner_wallet.address) == FUNDS - AMOUNT
    with db.sessions() as session:
        assert session.scalars(select(Payout.amount).where(Payout.id == payout_id)).one() == AMOUNT


def test_an_own_wallet_redemption_signed_by_another_key_moves_nothing(
    db: Db, chain: Chain, accounts: AccountService, portal_redemptions: PortalRedemptions, clock: Clock
) -> None:
    merchant_id, owner_wallet = own_wallet_shop(db, clock)
    owner = sign_up(accounts, merchant_id, clock)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(owner_wallet.address, FUNDS))
    valid_before, nonce = int(time.time()) + 600, os.urandom(32)
    typed = eip712_authorization(
        msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address),
        "ReceiveWithAuthorization",
        owner_wallet.address,
        chain.redeemer.address,
        AMOUNT,
        0,
        valid_before,
        nonce,
    )
    forged = Authorization(
        owner_wallet.address,
        AMOUNT,
        0,
        valid_before,
        nonce,
        bytes(Signer.dev(8).sign_typed_data(typed).signature),
    )
    before = counts(db, merchant_id)
    with pytest.raises(InvalidAuthorizationError):
        portal_redemptions.redeem_signed(
            merchant_id,
            new_submission(),
            AMOUNT,
            forged,
            confirm(accounts, owner, merchant_id, code(owner, clock)),
        )
    assert counts(db, merchant_id) == before and chain.balance(owner_wallet.address) == FUNDS

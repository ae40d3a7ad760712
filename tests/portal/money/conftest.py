"""Fixtures of the portal's money tests: a deployed platform on a private anvil (H2's ports), a
migrated database per backend (``db`` from tests/portal/conftest.py), custodial merchants with
owners who use a real TOTP second factor.

Roles as in ``tests/settlement/minting/support.py``: dev 0 owns the contracts and mints test MSC,
dev 2 is the redeemer (and the relayer of custodial wallet moves).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyotp
import pytest
from sqlalchemy import func, select
from web3 import Web3

from accounts.models import Permission
from accounts.service import AccountService
from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from chain.localnode import AnvilNode
from custody.keystore import EnvelopeKeyManager
from custody.models import CustodyKeyHistory
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from merchant_money import bank_accounts
from merchant_money.models import MerchantWalletMove
from merchant_money.redeem import PortalRedemptions
from merchant_money.wallet import WalletMoves
from settlement.payouts.models import Payout
from settlement.redemption import rawtx
from settlement.redemption.models import RedemptionIntent
from settlement.redemption.service import RedemptionService
from tests.accounts.conftest import PASSWORD, account_service, address, email, enrol_totp
from tests.api.support import Db
from tests.settlement.ledger.support import Clock, clock
from tests.settlement.minting.support import Chain, deploy

__all__ = ["clock"]

ANVIL_PORT = 8811
FUNDS = 1_000_000  # Rp 10.000,00


@contextmanager
def killed_before_broadcast(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The block's relay is written ahead, then the process dies before broadcasting it (the
    RuntimeError is expected and swallowed); broadcasts work again after the block."""
    real = rawtx.broadcast

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process killed before the broadcast")

    monkeypatch.setattr(rawtx, "broadcast", killed)
    try:
        with pytest.raises(RuntimeError, match="killed before the broadcast"):
            yield
    finally:
        monkeypatch.setattr(rawtx, "broadcast", real)


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    """A private anvil on H2's first port."""
    with AnvilNode(port=ANVIL_PORT) as node:
        yield Web3(Web3.HTTPProvider(node.url))


@pytest.fixture(scope="module")
def chain(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """The platform, freshly deployed."""
    return deploy(w3, tmp_path_factory.mktemp("money-chain"))


@pytest.fixture
def accounts(db: Db, clock: Clock) -> AccountService:
    """Merchant accounts with cheap hashing and the settable clock."""
    return account_service(db, clock)


@pytest.fixture
def custody(chain: Chain) -> CustodyService:
    """Custodial wallets under a fresh master key."""
    keys = EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32)))
    return CustodyService(keys, chain_id=chain.w3.eth.chain_id, token_address=chain.platform.msc.address)


@pytest.fixture
def redemptions(db: Db, chain: Chain) -> RedemptionService:
    """The API's redemption service on this database and chain."""
    return RedemptionService(db.sessions, chain.platform, chain.redeemer)


@pytest.fixture
def portal_redemptions(db: Db, redemptions: RedemptionService, custody: CustodyService) -> PortalRedemptions:
    """Redemptions as the portal makes them."""
    return PortalRedemptions(db.sessions, redemptions, custody)


@pytest.fixture
def wallet(db: Db, redemptions: RedemptionService, custody: CustodyService) -> WalletMoves:
    """Custodial exports and sweeps."""
    return WalletMoves(db.sessions, redemptions, custody)


@dataclass
class Person:
    """A signed-in member of a merchant and its authenticator app."""

    user_id: uuid.UUID
    token: str
    totp: pyotp.TOTP | None


@dataclass
class Shop:
    """A merchant with a custodial wallet, an owner with TOTP, and a bank account on file."""

    merchant_id: uuid.UUID
    address: str
    owner: Person


def sign_up(accounts: AccountService, merchant_id: uuid.UUID, clock: Clock, *, totp: bool = True) -> Person:
    """The operator invites an owner of ``merchant_id``, who accepts, signs in and enrols TOTP."""
    mail = email()
    invitation = accounts.invite_owner(merchant_id, mail, operator="ops@bank")
    user_id = accounts.accept_invitation(invitation.token, PASSWORD, "Bu Sri")
    token = accounts.sign_in(mail, PASSWORD, address()).token
    generator = enrol_totp(accounts, token, clock)[0] if totp else None
    return Person(user_id, token, generator)


def code(person: Person, clock: Clock) -> str:
    """The person's current TOTP code (the clock then moves a step, so the next code is new)."""
    assert person.totp is not None
    value = person.totp.at(clock.now)
    clock.advance(30)
    return value


def confirm(
    accounts: AccountService,
    person: Person,
    merchant_id: uuid.UUID,
    value: str | None,
    permission: Permission = Permission.REDEEM,
) -> Callable[[], object]:
    """The second-factor check the portal runs, as a callable."""
    return lambda: accounts.require_second_factor(person.token, merchant_id, permission, value)


def custodial_shop(
    db: Db, chain: Chain, accounts: AccountService, custody: CustodyService, clock: Clock, funds: int = FUNDS
) -> Shop:
    """A custodially onboarded merchant holding ``funds`` sen of MSC, its owner and bank account."""
    data = MerchantCreate(
        name="Warung Bu Sri", kelurahan="Taman", custody=True, pi_username=f"pi_{uuid.uuid4().hex[:12]}"
    )
    with db.sessions.begin() as session:
        merchant, _ = merchants.create(session, data, keys=custody.keys)
        merchant_id, merchant_address = merchant.id, merchant.evm_address
    owner = sign_up(accounts, merchant_id, clock)
    with db.sessions.begin() as session:
        account = bank_accounts.clean("BRI", "0123-0100-0456-501", "Sri Wahyuni")
        bank_accounts.change(session, merchant_id, account, owner.user_id, clock.now)
    if funds:
        chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(merchant_address, funds))
    return Shop(merchant_id, merchant_address, owner)


@pytest.fixture
def shop(db: Db, chain: Chain, accounts: AccountService, custody: CustodyService, clock: Clock) -> Shop:
    """A fresh custodial shop."""
    return custodial_shop(db, chain, accounts, custody, clock)


def counts(db: Db, merchant_id: uuid.UUID) -> dict[str, int]:
    """Rows a refused money action must not add: payouts, intents, wallet moves, key signatures."""
    with db.sessions() as session:
        return {
            "payouts": session.scalar(
                select(func.count()).select_from(Payout).where(Payout.merchant_id == str(merchant_id))
            )
            or 0,
            "intents": session.scalar(
                select(func.count())
                .select_from(RedemptionIntent)
                .where(RedemptionIntent.merchant_id == str(merchant_id))
            )
            or 0,
            "moves": session.scalar(
                select(func.count())
                .select_from(MerchantWalletMove)
                .where(MerchantWalletMove.merchant_id == merchant_id)
            )
            or 0,
            "signatures": session.scalar(
                select(func.count()).select_from(CustodyKeyHistory).where(CustodyKeyHistory.kind == "signed")
            )
            or 0,
        }

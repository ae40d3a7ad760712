"""The peer's whole state: configuration, ledger, platform payments and armed faults."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from stellar_sdk import Account, Keypair, TransactionBuilder

from pi_peer.faults import Faults
from pi_peer.ledger import Ledger, TransactionRecord, stroops_to_str
from pi_peer.platform import Platform

TESTNET_PASSPHRASE = "Pi Testnet"
MAINNET_PASSPHRASE = "Pi Network"
TOTAL_SUPPLY = 100_000_000_000 * 10_000_000  # 100 billion Pi in stroops


@dataclass
class PeerConfig:
    """How one peer instance behaves.

    Attributes:
        api_key: The server API key the Platform API accepts.
        app_secret: Seed of the app's wallet (the developer's own key; the peer funds its account).
        network_passphrase: "Pi Testnet" or "Pi Network".
        app_balance: Starting balance of the app wallet, stroops.
        base_fee: Minimum fee per operation, stroops (Pi uses 0.01 Pi = 100000 on mainnet; Stellar 100).
        base_reserve: Base reserve, stroops; the minimum balance is two of them.
    """

    api_key: str
    app_secret: str
    network_passphrase: str = TESTNET_PASSPHRASE
    app_balance: int = 1_000 * 10_000_000
    base_fee: int = 100
    base_reserve: int = 5_000_000
    seed: str = "pi-peer"


@dataclass
class PeerState:
    """Everything one running peer holds in memory."""

    config: PeerConfig
    ledger: Ledger
    platform: Platform
    faults: Faults = field(default_factory=Faults)
    root: Keypair = field(default_factory=Keypair.random)
    closing: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def create(cls, config: PeerConfig) -> PeerState:
        """Build the genesis ledger (root holds the supply) and fund the app wallet."""
        ledger = Ledger(config.network_passphrase, base_fee=config.base_fee, base_reserve=config.base_reserve)
        root = Keypair.from_raw_ed25519_seed(hashlib.sha256(config.network_passphrase.encode()).digest())
        ledger.create_genesis_account(root.public_key, TOTAL_SUPPLY)
        app = Keypair.from_secret(config.app_secret)
        platform = Platform(ledger, app.public_key, config.network_passphrase, seed=config.seed)
        state = cls(config=config, ledger=ledger, platform=platform, root=root)
        state.fund(app.public_key, config.app_balance)
        return state

    def fund(self, account_id: str, amount: int) -> TransactionRecord:
        """Create ``account_id`` with ``amount`` stroops by a real create_account tx from the root."""
        root_acc = self.ledger.account(self.root.public_key)
        assert root_acc is not None
        now = self.ledger.now()
        tx = (
            TransactionBuilder(
                source_account=Account(self.root.public_key, root_acc.sequence),
                network_passphrase=self.config.network_passphrase,
                base_fee=self.config.base_fee,
            )
            .append_create_account_op(destination=account_id, starting_balance=stroops_to_str(amount))
            .add_time_bounds(0, now + 60)
            .build()
        )
        tx.sign(self.root)
        return self.ledger.submit(tx.to_xdr())

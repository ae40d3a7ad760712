"""SQL tables of the chain mirror and the tables derived from it.

Raw and decoded tables are keyed by ``(block_hash, log_index)`` so a log is stored once however
often its range is replayed, and a log of an orphaned block (other hash) never collides with its
canonical replacement. Addresses are lowercase ``0x`` hex text; hashes, topics and data are
bytes (see :class:`common.sql.types.HexBytes`); amounts are exact :class:`Uint256` integers.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.types import HexBytes, Uint256

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for billions of logs.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LogStatus(StrEnum):
    """What the indexer could make of a raw log."""

    DECODED = "decoded"
    """Decoded with its contract's ABI; a ``decoded_events`` row exists."""
    UNKNOWN_CONTRACT = "unknown_contract"
    """Emitted by an address the registry does not follow (a node returned more than asked)."""
    UNKNOWN_EVENT = "unknown_event"
    """A followed contract, but topic0 matches none of its ABI's events."""
    UNDECODABLE = "undecodable"
    """The event is known but its topics or data do not fit the ABI."""


class Block(Base):
    """A canonical block header the mirror has seen: for timestamps and reorg detection.

    Only blocks with logs, range boundaries and recent blocks are kept; on a reorg the rows above
    the common ancestor are deleted with everything derived from them.
    """

    __tablename__ = "blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HexBytes, nullable=False, unique=True)
    parent_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")


class RawLog(Base):
    """Every log returned for the followed contracts, exactly as the node gave it."""

    __tablename__ = "raw_logs"
    __table_args__ = (
        UniqueConstraint("block_hash", "log_index"),
        Index("ix_raw_logs_block_number", "block_number"),
        Index("ix_raw_logs_address_topic0", "address", "topic0"),
        Index("ix_raw_logs_address_topic1", "address", "topic1"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    tx_index: Mapped[int] = mapped_column(Integer, nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    topic0: Mapped[str | None] = mapped_column(HexBytes)
    topic1: Mapped[str | None] = mapped_column(HexBytes)
    topic2: Mapped[str | None] = mapped_column(HexBytes)
    topic3: Mapped[str | None] = mapped_column(HexBytes)
    data: Mapped[str] = mapped_column(HexBytes, nullable=False)
    removed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, doc="A LogStatus value.")
    error: Mapped[str | None] = mapped_column(Text, doc="Why decoding failed, when it did.")


class DecodedEvent(Base):
    """A log decoded with its contract's ABI.

    ``args`` is a JSON object by parameter name: integers as decimal strings (uint256 does not
    fit a JSON number), addresses lowercase hex, bytes as ``0x`` hex.

    Every row has its ``raw_logs`` row (same ``block_hash``, ``log_index``): the pipeline writes
    both in one transaction and deletes decoded rows first. No foreign key checks it (migration
    0012 dropped it: its per-row check cost a third of a backfill's database time).
    """

    __tablename__ = "decoded_events"
    __table_args__ = (
        UniqueConstraint("block_hash", "log_index"),
        Index("ix_decoded_events_block_number", "block_number"),
        Index("ix_decoded_events_contract_event", "contract", "event", "block_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    contract: Mapped[str] = mapped_column(String(64), nullable=False, doc="Name in the deployment file.")
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    args: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Checkpoint(Base):
    """How far one indexer stream has committed: the last block of its last committed range."""

    __tablename__ = "checkpoints"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_hash: Mapped[str | None] = mapped_column(HexBytes, doc="None before the first range.")
    chain_head: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        doc="The node's head when the range was committed (for confirmation depth).",
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class TokenBalance(Base):
    """An ERC-20 balance as of the stream's checkpoint, derived from Transfer events.

    Accounts that held the token once keep a row at zero; ``token_holders`` lists the non-zero ones.
    """

    __tablename__ = "token_balances"

    token: Mapped[str] = mapped_column(String(42), primary_key=True)
    account: Mapped[str] = mapped_column(String(42), primary_key=True)
    balance: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Smallest unit (MSC has 6 decimals).")


class SupplyHistory(Base):
    """An ERC-20 total supply after each block in which it changed (mints and burns)."""

    __tablename__ = "supply_history"

    token: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    total_supply: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Smallest unit, after the block.")


class EscrowStatus(StrEnum):
    """Where an escrowed payment is; the contract's ``IMerchantEscrow.Status`` minus ``None``."""

    HELD = "held"
    DISPUTED = "disputed"
    RELEASED = "released"
    REFUNDED = "refunded"
    """Refunded in full by the merchant, or a dispute decided by default (a full refund)."""
    SPLIT = "split"
    """A dispute the arbiter decided (whatever the split, also all to one side)."""


class StakingLockStatus(StrEnum):
    """Where a staking lock is."""

    OPEN = "open"
    WITHDRAWN = "withdrawn"
    EXITED = "exited"


class EscrowPayment(Base):
    """One MerchantEscrow payment as of the stream's checkpoint, from its payment events.

    ``amount`` is what was deposited and never changes; ``held`` is what is still in escrow (the
    contract's ``amount`` while held or disputed), ``released`` what went to the merchant
    (release or the arbiter's split), ``refunded`` what went back to the payer from escrow
    (refunds, the payer's share of a split, a default decision), ``covered`` what the guarantee
    fund paid the payer after release. ``last_block`` is the latest block with an event of it.
    """

    __tablename__ = "escrow_payments"
    __table_args__ = (
        Index("ix_escrow_payments_escrow_merchant", "escrow", "merchant"),
        Index("ix_escrow_payments_escrow_status", "escrow", "status"),
    )

    escrow: Mapped[str] = mapped_column(String(42), primary_key=True, doc="The escrow contract's address.")
    payment_id: Mapped[str] = mapped_column(HexBytes, primary_key=True, doc="bytes32 payment id.")
    merchant: Mapped[str] = mapped_column(String(42), nullable=False)
    payer: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Deposited, smallest unit.")
    held: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Still in escrow.")
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="An EscrowStatus value.")
    release_after: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    dispute_deadline: Mapped[int | None] = mapped_column(BigInteger, doc="Unix seconds, once disputed.")
    released: Mapped[int] = mapped_column(Uint256, nullable=False)
    refunded: Mapped[int] = mapped_column(Uint256, nullable=False)
    covered: Mapped[int] = mapped_column(Uint256, nullable=False)
    deposit_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_block: Mapped[int] = mapped_column(BigInteger, nullable=False)


class EscrowGuarantee(Base):
    """The guarantee fund of an escrow after each change (``GuaranteeFundChanged``), in log order."""

    __tablename__ = "escrow_guarantee"

    escrow: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    actor: Mapped[str] = mapped_column(String(42), nullable=False, doc="Who funded or withdrew.")
    increase: Mapped[bool] = mapped_column(Boolean, nullable=False, doc="Funded (else withdrawn or paid).")
    amount: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Absolute change, smallest unit.")
    balance: Mapped[int] = mapped_column(Uint256, nullable=False, doc="The fund after the change.")


class StakingLock(Base):
    """One LockStaking lock as of the stream's checkpoint, from Locked/RewardPaid/Withdrawn/ExitedEarly.

    ``weight_bps`` is the weight the lock was made with: a ``kick`` zeroes it on chain and emits
    ``LockKicked`` (kept in the decoded events, not applied to this row); it pays nothing, and the
    credit it records is paid, as a ``RewardPaid``, with the lock's claim or withdrawal. ``penalty``
    is non-zero only for early exits; ``rewards_paid`` sums every reward paid for the lock.
    """

    __tablename__ = "staking_locks"
    __table_args__ = (
        Index("ix_staking_locks_staking_owner", "staking", "owner"),
        Index("ix_staking_locks_staking_status", "staking", "status"),
    )

    staking: Mapped[str] = mapped_column(String(42), primary_key=True, doc="The staking contract's address.")
    lock_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(42), nullable=False)
    tier: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Principal, smallest unit.")
    starts_at: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    ends_at: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    weight_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="A StakingLockStatus value.")
    rewards_paid: Mapped[int] = mapped_column(Uint256, nullable=False)
    penalty: Mapped[int] = mapped_column(Uint256, nullable=False)
    opened_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    closed_block: Mapped[int | None] = mapped_column(BigInteger)


class StakingRewardPeriod(Base):
    """A reward funding of a staking contract (``RewardsFunded``): amount, rate and period end."""

    __tablename__ = "staking_reward_periods"

    staking: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    funder: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Smallest unit.")
    rate: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Per second, scaled by 1e27.")
    period_finish: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")


class CarbonBridgeStatus(StrEnum):
    """Where a carbon bridge-back request is; ``ICarbonCredits.BridgeStatus`` minus ``None``."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class CarbonProject(Base):
    """A CarbonCredits project (``ProjectRegistered``); type and standard as snake-case names."""

    __tablename__ = "carbon_projects"

    carbon: Mapped[str] = mapped_column(String(42), primary_key=True, doc="The carbon contract's address.")
    project_key: Mapped[int] = mapped_column(Uint256, primary_key=True, doc="uint64 project key.")
    registry_id: Mapped[str] = mapped_column(Text, nullable=False, doc="SRN-PPI / Verra / GS project id.")
    project_type: Mapped[str] = mapped_column(String(16), nullable=False)
    standard: Mapped[str] = mapped_column(String(16), nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False)
    registered_block: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CarbonVintage(Base):
    """A verified vintage (token id = project key << 16 | year) and its supply counters, in tonnes.

    ``issued``, ``retired`` and ``bridged`` equal the contract's ``vintage(tokenId)``;
    ``held_for_bridge`` is what the contract holds for pending bridge-back requests.
    """

    __tablename__ = "carbon_vintages"
    __table_args__ = (Index("ix_carbon_vintages_carbon_project_key", "carbon", "project_key"),)

    carbon: Mapped[str] = mapped_column(String(42), primary_key=True)
    token_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    project_key: Mapped[int] = mapped_column(Uint256, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    verified_tonnes: Mapped[int] = mapped_column(Uint256, nullable=False)
    documents_sha256: Mapped[str] = mapped_column(HexBytes, nullable=False)
    documents_cid: Mapped[str] = mapped_column(Text, nullable=False)
    metadata_cid: Mapped[str] = mapped_column(Text, nullable=False)
    issued: Mapped[int] = mapped_column(Uint256, nullable=False)
    retired: Mapped[int] = mapped_column(Uint256, nullable=False)
    bridged: Mapped[int] = mapped_column(Uint256, nullable=False)
    held_for_bridge: Mapped[int] = mapped_column(Uint256, nullable=False)
    verified_block: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CarbonBalance(Base):
    """An ERC-1155 carbon credit balance (tonnes) from TransferSingle/TransferBatch; zero rows are dropped.

    The contract's own address holds the credits in custody for pending bridge-backs.
    """

    __tablename__ = "carbon_balances"
    __table_args__ = (Index("ix_carbon_balances_carbon_holder", "carbon", "holder"),)

    carbon: Mapped[str] = mapped_column(String(42), primary_key=True)
    token_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    holder: Mapped[str] = mapped_column(String(42), primary_key=True)
    balance: Mapped[int] = mapped_column(Uint256, nullable=False)


class CarbonRetirement(Base):
    """A retirement certificate (``CreditsRetired``); permanent, never changes."""

    __tablename__ = "carbon_retirements"
    __table_args__ = (
        Index("ix_carbon_retirements_carbon_beneficiary", "carbon", "beneficiary"),
        Index("ix_carbon_retirements_block_number", "block_number"),
    )

    carbon: Mapped[str] = mapped_column(String(42), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False)
    beneficiary: Mapped[str] = mapped_column(String(42), nullable=False)
    retired_by: Mapped[str] = mapped_column(
        String(42), nullable=False, doc="The holder whose credits burned."
    )
    tonnes: Mapped[int] = mapped_column(Uint256, nullable=False)
    beneficiary_name: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    period_start: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    period_end: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)


class CarbonBridgeRequest(Base):
    """A bridge-back request: credits returned to the registry (confirmed) or to the holder (refused)."""

    __tablename__ = "carbon_bridge_requests"
    __table_args__ = (Index("ix_carbon_bridge_requests_carbon_status", "carbon", "status"),)

    carbon: Mapped[str] = mapped_column(String(42), primary_key=True)
    request_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False)
    holder: Mapped[str] = mapped_column(String(42), nullable=False)
    tonnes: Mapped[int] = mapped_column(Uint256, nullable=False)
    registry_account: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="A CarbonBridgeStatus value.")
    registry_reference: Mapped[str | None] = mapped_column(Text, doc="Once confirmed.")
    refusal_reason: Mapped[str | None] = mapped_column(Text, doc="Once refused.")
    requested_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    resolved_block: Mapped[int | None] = mapped_column(BigInteger)

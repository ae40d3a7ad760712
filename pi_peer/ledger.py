"""The peer's in-memory Pi ledger: accounts, the transaction set rules, and history.

It applies REAL Stellar transaction envelopes (decoded with stellar-sdk) with the checks
stellar-core makes before and while applying them, in the same order and with the same result
codes Horizon reports: time bounds (``tx_too_late``/``tx_too_early``), ``tx_missing_operation``,
``tx_insufficient_fee``, ``tx_no_source_account``, ``tx_bad_seq`` (sequence must be exactly the
account's + 1), ed25519 signatures over the network-passphrase-bound hash (``tx_bad_auth``, and
``tx_bad_auth_extra`` for signatures that authorise nothing), ``tx_insufficient_balance`` for the
fee, then the operations (native ``payment`` and ``create_account``; anything else is
``op_not_supported``). A transaction whose operations fail is still included (fee charged,
sequence consumed, ``successful: false``), as on the real network; one rejected before that
changes nothing.

Every applied transaction closes one ledger, so ledger numbers, paging tokens (Horizon's TOID:
``ledger << 32 | tx_index << 12 | op_index``) and new accounts' sequence numbers
(``ledger << 32``) are deterministic. All state is behind one lock.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from stellar_sdk import Asset, Keypair, TransactionEnvelope
from stellar_sdk import xdr as sx
from stellar_sdk.exceptions import BadSignatureError
from stellar_sdk.memo import HashMemo, IdMemo, NoneMemo, ReturnHashMemo, TextMemo
from stellar_sdk.operation import CreateAccount, Payment

STROOPS = 10_000_000


def stroops_to_str(amount: int) -> str:
    """Horizon's amount string for an integer number of stroops."""
    whole, frac = divmod(amount, STROOPS)
    return f"{whole}.{frac:07d}"


def iso(ts: int) -> str:
    """Horizon's timestamp format (UTC, seconds, ``Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def toid(ledger: int, tx_index: int, op_index: int) -> int:
    """Horizon's total order id, used as ``id``/``paging_token`` of operations and transactions."""
    return (ledger << 32) | (tx_index << 12) | op_index


@dataclass
class AccountState:
    """One account entry; ``balance`` in stroops."""

    account_id: str
    balance: int
    sequence: int
    last_modified_ledger: int
    last_modified_time: int
    subentry_count: int = 0


@dataclass(frozen=True)
class OperationRecord:
    """One applied (or failed) operation as Horizon reports it."""

    id: int
    tx_hash: str
    ledger: int
    closed_at: int
    source_account: str
    type: str
    type_i: int
    fields: dict[str, Any]
    participants: frozenset[str]
    successful: bool


@dataclass(frozen=True)
class TransactionRecord:
    """One transaction included in a ledger."""

    hash: str
    ledger: int
    paging_token: int
    closed_at: int
    source_account: str
    sequence: int
    fee_charged: int
    max_fee: int
    envelope_xdr: str
    result_xdr: str
    memo_type: str
    memo: str | None
    memo_bytes: str | None
    signatures: tuple[str, ...]
    min_time: int | None
    max_time: int | None
    successful: bool
    participants: frozenset[str]
    operations: tuple[OperationRecord, ...] = field(default=())


@dataclass(frozen=True)
class LedgerHeader:
    """A closed ledger."""

    sequence: int
    hash: str
    prev_hash: str
    closed_at: int
    tx_count: int
    failed_tx_count: int
    operation_count: int


class SubmitRejectedError(Exception):
    """The transaction was not successful; carries what Horizon puts in ``extras``."""

    def __init__(self, tx_code: str, op_codes: list[str], result_xdr: str, envelope_xdr: str) -> None:
        super().__init__(tx_code)
        self.tx_code = tx_code
        self.op_codes = op_codes
        self.result_xdr = result_xdr
        self.envelope_xdr = envelope_xdr


class MalformedEnvelopeError(Exception):
    """The ``tx`` field is not a decodable transaction envelope."""


_TX_CODES: dict[str, sx.TransactionResultCode] = {
    "tx_success": sx.TransactionResultCode.txSUCCESS,
    "tx_failed": sx.TransactionResultCode.txFAILED,
    "tx_too_early": sx.TransactionResultCode.txTOO_EARLY,
    "tx_too_late": sx.TransactionResultCode.txTOO_LATE,
    "tx_missing_operation": sx.TransactionResultCode.txMISSING_OPERATION,
    "tx_bad_seq": sx.TransactionResultCode.txBAD_SEQ,
    "tx_bad_auth": sx.TransactionResultCode.txBAD_AUTH,
    "tx_insufficient_balance": sx.TransactionResultCode.txINSUFFICIENT_BALANCE,
    "tx_no_source_account": sx.TransactionResultCode.txNO_ACCOUNT,
    "tx_insufficient_fee": sx.TransactionResultCode.txINSUFFICIENT_FEE,
    "tx_bad_auth_extra": sx.TransactionResultCode.txBAD_AUTH_EXTRA,
    "tx_not_supported": sx.TransactionResultCode.txNOT_SUPPORTED,
}
_PAYMENT_CODES: dict[str, sx.PaymentResultCode] = {
    "op_success": sx.PaymentResultCode.PAYMENT_SUCCESS,
    "op_malformed": sx.PaymentResultCode.PAYMENT_MALFORMED,
    "op_underfunded": sx.PaymentResultCode.PAYMENT_UNDERFUNDED,
    "op_no_destination": sx.PaymentResultCode.PAYMENT_NO_DESTINATION,
    "op_no_trust": sx.PaymentResultCode.PAYMENT_NO_TRUST,
    "op_line_full": sx.PaymentResultCode.PAYMENT_LINE_FULL,
}
_CREATE_CODES: dict[str, sx.CreateAccountResultCode] = {
    "op_success": sx.CreateAccountResultCode.CREATE_ACCOUNT_SUCCESS,
    "op_malformed": sx.CreateAccountResultCode.CREATE_ACCOUNT_MALFORMED,
    "op_underfunded": sx.CreateAccountResultCode.CREATE_ACCOUNT_UNDERFUNDED,
    "op_low_reserve": sx.CreateAccountResultCode.CREATE_ACCOUNT_LOW_RESERVE,
    "op_already_exists": sx.CreateAccountResultCode.CREATE_ACCOUNT_ALREADY_EXIST,
}


def _op_result(op_type: str, code: str) -> sx.OperationResult:
    if code == "op_bad_auth":
        return sx.OperationResult(code=sx.OperationResultCode.opBAD_AUTH)
    if code == "op_no_source_account":
        return sx.OperationResult(code=sx.OperationResultCode.opNO_ACCOUNT)
    if op_type == "payment":
        tr = sx.OperationResultTr(
            type=sx.OperationType.PAYMENT, payment_result=sx.PaymentResult(code=_PAYMENT_CODES[code])
        )
        return sx.OperationResult(code=sx.OperationResultCode.opINNER, tr=tr)
    if op_type == "create_account":
        tr = sx.OperationResultTr(
            type=sx.OperationType.CREATE_ACCOUNT,
            create_account_result=sx.CreateAccountResult(code=_CREATE_CODES[code]),
        )
        return sx.OperationResult(code=sx.OperationResultCode.opINNER, tr=tr)
    return sx.OperationResult(code=sx.OperationResultCode.opNOT_SUPPORTED)


def result_xdr(fee: int, tx_code: str, ops: list[tuple[str, str]] | None) -> str:
    """A real base64 ``TransactionResult`` XDR for the outcome."""
    results = [_op_result(t, c) for t, c in ops] if ops is not None else None
    res = sx.TransactionResult(
        fee_charged=sx.Int64(fee),
        result=sx.TransactionResultResult(code=_TX_CODES[tx_code], results=results),
        ext=sx.TransactionResultExt(v=0),
    )
    return res.to_xdr()


def _memo_fields(memo: object) -> tuple[str, str | None, str | None]:
    if isinstance(memo, TextMemo):
        raw = memo.memo_text
        return "text", raw.decode("utf-8", errors="replace"), base64.b64encode(raw).decode()
    if isinstance(memo, IdMemo):
        return "id", str(memo.memo_id), None
    if isinstance(memo, HashMemo):
        return "hash", base64.b64encode(memo.memo_hash).decode(), None
    if isinstance(memo, ReturnHashMemo):
        return "return", base64.b64encode(memo.memo_return).decode(), None
    if isinstance(memo, NoneMemo):
        return "none", None, None
    return "none", None, None


class Ledger:
    """Thread-safe in-memory ledger for one network passphrase."""

    def __init__(
        self,
        network_passphrase: str,
        *,
        base_fee: int = 100,
        base_reserve: int = 5_000_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.network_passphrase = network_passphrase
        self.base_fee = base_fee
        self.base_reserve = base_reserve
        self._clock = clock
        self.clock_offset = 0
        self._lock: threading.RLock = threading.RLock()
        self._accounts: dict[str, AccountState] = {}
        self._txs: dict[str, TransactionRecord] = {}
        self._tx_order: list[TransactionRecord] = []
        self._ops: list[OperationRecord] = []
        genesis_time = int(clock())
        self._ledgers: list[LedgerHeader] = [
            LedgerHeader(
                1, hashlib.sha256(network_passphrase.encode()).hexdigest(), "0" * 64, genesis_time, 0, 0, 0
            )
        ]
        self._listeners: list[Callable[[TransactionRecord], None]] = []

    # -- clock and genesis

    def now(self) -> int:
        """The ledger's idea of the current time (wall clock plus the test-controlled offset)."""
        return int(self._clock()) + self.clock_offset

    def create_genesis_account(self, account_id: str, balance: int) -> None:
        """Put the root account (holding the supply) in ledger 1."""
        with self._lock:
            head = self._ledgers[-1]
            self._accounts[account_id] = AccountState(account_id, balance, 1 << 32, 1, head.closed_at)

    def min_balance(self, account: AccountState) -> int:
        """Stellar's minimum balance: (2 + subentries) base reserves."""
        return (2 + account.subentry_count) * self.base_reserve

    @property
    def lock(self) -> threading.RLock:
        """The ledger's lock; the platform shares it so there is one lock order only."""
        return self._lock

    def on_transaction(self, listener: Callable[[TransactionRecord], None]) -> None:
        """Call ``listener`` (under the lock) for each included transaction."""
        self._listeners.append(listener)

    # -- reads

    def account(self, account_id: str) -> AccountState | None:
        """A copy of the account entry, or None."""
        with self._lock:
            acc = self._accounts.get(account_id)
            return replace(acc) if acc else None

    def transaction(self, tx_hash: str) -> TransactionRecord | None:
        """The included transaction with this hash, or None."""
        with self._lock:
            return self._txs.get(tx_hash.lower())

    def latest(self) -> LedgerHeader:
        """The last closed ledger."""
        with self._lock:
            return self._ledgers[-1]

    def ledgers(self) -> list[LedgerHeader]:
        """All closed ledgers, oldest first."""
        with self._lock:
            return list(self._ledgers)

    def operations(self, *, include_failed: bool = True) -> list[OperationRecord]:
        """All operations in order."""
        with self._lock:
            return [o for o in self._ops if include_failed or o.successful]

    def transactions(self) -> list[TransactionRecord]:
        """All included transactions in order."""
        with self._lock:
            return list(self._tx_order)

    # -- submission

    def submit(self, envelope_xdr: str) -> TransactionRecord:
        """Validate and apply one envelope; return the included record or raise :class:`SubmitRejectedError`.

        Re-submitting an envelope that is already included returns the existing record, as
        Horizon does, which is what makes resubmitting the same signed envelope safe.
        """
        try:
            envelope = TransactionEnvelope.from_xdr(envelope_xdr, self.network_passphrase)
        except Exception as exc:  # any decoding failure is a malformed envelope
            raise MalformedEnvelopeError(str(exc)) from exc
        with self._lock:
            tx_hash = envelope.hash_hex()
            existing = self._txs.get(tx_hash)
            if existing is not None:
                return existing
            return self._apply(envelope, envelope_xdr, tx_hash)

    def _reject(self, code: str, envelope_xdr: str, fee: int = 0) -> SubmitRejectedError:
        return SubmitRejectedError(code, [], result_xdr(fee, code, None), envelope_xdr)

    def _apply(self, envelope: TransactionEnvelope, envelope_xdr: str, tx_hash: str) -> TransactionRecord:
        tx = envelope.transaction
        now = self.now()
        ops = list(tx.operations)
        bounds = tx.preconditions.time_bounds if tx.preconditions else None
        if bounds is not None:
            if bounds.max_time != 0 and now > bounds.max_time:
                raise self._reject("tx_too_late", envelope_xdr)
            if bounds.min_time > now:
                raise self._reject("tx_too_early", envelope_xdr)
        if not ops:
            raise self._reject("tx_missing_operation", envelope_xdr)
        if tx.fee < self.base_fee * len(ops):
            raise self._reject("tx_insufficient_fee", envelope_xdr)
        source_id = tx.source.account_id
        source = self._accounts.get(source_id)
        if source is None:
            raise self._reject("tx_no_source_account", envelope_xdr)
        if tx.sequence != source.sequence + 1:
            raise self._reject("tx_bad_seq", envelope_xdr)
        signed_by = self._verified_signers(envelope)
        if source_id not in signed_by:
            raise self._reject("tx_bad_auth", envelope_xdr)
        op_sources = {op.source.account_id if op.source else source_id for op in ops}
        if signed_by - op_sources or len(signed_by) != len(envelope.signatures):
            raise self._reject("tx_bad_auth_extra", envelope_xdr)
        fee = self.base_fee * len(ops)
        if source.balance - fee < self.min_balance(source):
            raise self._reject("tx_insufficient_balance", envelope_xdr)

        ledger_seq = self._ledgers[-1].sequence + 1
        close_time = max(now, self._ledgers[-1].closed_at)
        # Fee and sequence are consumed even if the operations fail.
        source.balance -= fee
        source.sequence = tx.sequence
        source.last_modified_ledger = ledger_seq
        source.last_modified_time = close_time

        scratch = {k: replace(v) for k, v in self._accounts.items()}
        codes: list[tuple[str, str]] = []
        op_records: list[OperationRecord] = []
        for index, op in enumerate(ops, start=1):
            op_source = op.source.account_id if op.source else source_id
            op_type, code, fields, parts = self._apply_op(op, op_source, signed_by, scratch, ledger_seq)
            codes.append((op_type, code))
            op_records.append(
                OperationRecord(
                    id=toid(ledger_seq, 1, index),
                    tx_hash=tx_hash,
                    ledger=ledger_seq,
                    closed_at=close_time,
                    source_account=op_source,
                    type=op_type,
                    type_i=_TYPE_I.get(op_type, -1),
                    fields=fields,
                    participants=frozenset(parts | {op_source}),
                    successful=True,
                )
            )
        successful = all(code == "op_success" for _, code in codes)
        if successful:
            for acc in scratch.values():
                if acc.account_id not in self._accounts or acc != self._accounts[acc.account_id]:
                    acc.last_modified_ledger = ledger_seq
                    acc.last_modified_time = close_time
            self._accounts = scratch
        else:
            op_records = [replace(o, successful=False) for o in op_records]
        tx_code = "tx_success" if successful else "tx_failed"
        memo_type, memo, memo_bytes = _memo_fields(tx.memo)
        bounds_min = bounds.min_time if bounds else None
        bounds_max = bounds.max_time if bounds else None
        record = TransactionRecord(
            hash=tx_hash,
            ledger=ledger_seq,
            paging_token=toid(ledger_seq, 1, 0),
            closed_at=close_time,
            source_account=source_id,
            sequence=tx.sequence,
            fee_charged=fee,
            max_fee=tx.fee,
            envelope_xdr=envelope_xdr,
            result_xdr=result_xdr(fee, tx_code, codes),
            memo_type=memo_type,
            memo=memo,
            memo_bytes=memo_bytes,
            signatures=tuple(base64.b64encode(s.signature).decode() for s in envelope.signatures),
            min_time=bounds_min,
            max_time=bounds_max,
            successful=successful,
            participants=frozenset().union(*(o.participants for o in op_records)) | {source_id},
            operations=tuple(op_records),
        )
        self._close_ledger(record)
        if not successful:
            raise SubmitRejectedError("tx_failed", [c for _, c in codes], record.result_xdr, envelope_xdr)
        return record

    def _close_ledger(self, record: TransactionRecord) -> None:
        prev = self._ledgers[-1]
        header_hash = hashlib.sha256((prev.hash + record.hash).encode()).hexdigest()
        self._ledgers.append(
            LedgerHeader(
                sequence=record.ledger,
                hash=header_hash,
                prev_hash=prev.hash,
                closed_at=record.closed_at,
                tx_count=1 if record.successful else 0,
                failed_tx_count=0 if record.successful else 1,
                operation_count=len(record.operations),
            )
        )
        self._txs[record.hash] = record
        self._tx_order.append(record)
        self._ops.extend(record.operations)
        for listener in self._listeners:
            listener(record)

    def _verified_signers(self, envelope: TransactionEnvelope) -> set[str]:
        """Accounts (among those the tx names) with a valid ed25519 signature over its hash."""
        tx = envelope.transaction
        candidates = {tx.source.account_id} | {op.source.account_id for op in tx.operations if op.source}
        tx_hash = envelope.hash()
        signed: set[str] = set()
        for sig in envelope.signatures:
            for account_id in candidates:
                kp = Keypair.from_public_key(account_id)
                if kp.signature_hint() != sig.signature_hint:
                    continue
                try:
                    kp.verify(tx_hash, sig.signature)
                except BadSignatureError:
                    continue
                signed.add(account_id)
        return signed

    def _apply_op(
        self,
        op: object,
        op_source: str,
        signed_by: set[str],
        scratch: dict[str, AccountState],
        ledger_seq: int,
    ) -> tuple[str, str, dict[str, Any], set[str]]:
        """Apply one operation to ``scratch``; return (type, result code, Horizon fields, participants)."""
        if isinstance(op, Payment):
            dest = op.destination.account_id
            amount = _stroops(op.amount)
            fields: dict[str, Any] = {"from": op_source, "to": dest, "amount": stroops_to_str(amount)}
            if op.asset.is_native():
                fields["asset_type"] = "native"
            else:
                fields.update(
                    asset_type=op.asset.type, asset_code=op.asset.code, asset_issuer=op.asset.issuer
                )
            parts = {dest}
            if op_source not in signed_by:
                return "payment", "op_bad_auth", fields, parts
            src = scratch.get(op_source)
            if src is None:
                return "payment", "op_no_source_account", fields, parts
            if amount <= 0:
                return "payment", "op_malformed", fields, parts
            if op.asset != Asset.native():
                return "payment", "op_no_trust", fields, parts
            dst = scratch.get(dest)
            if dst is None:
                return "payment", "op_no_destination", fields, parts
            if src.balance - amount < self.min_balance(src):
                return "payment", "op_underfunded", fields, parts
            if dest != op_source and dst.balance + amount > 2**63 - 1:
                return "payment", "op_line_full", fields, parts
            src.balance -= amount
            dst.balance += amount
            return "payment", "op_success", fields, parts
        if isinstance(op, CreateAccount):
            dest = op.destination
            amount = _stroops(op.starting_balance)
            fields = {"starting_balance": stroops_to_str(amount), "funder": op_source, "account": dest}
            parts = {dest}
            if op_source not in signed_by:
                return "create_account", "op_bad_auth", fields, parts
            src = scratch.get(op_source)
            if src is None:
                return "create_account", "op_no_source_account", fields, parts
            if amount <= 0 or dest == op_source:
                return "create_account", "op_malformed", fields, parts
            if dest in scratch:
                return "create_account", "op_already_exists", fields, parts
            if amount < 2 * self.base_reserve:
                return "create_account", "op_low_reserve", fields, parts
            if src.balance - amount < self.min_balance(src):
                return "create_account", "op_underfunded", fields, parts
            src.balance -= amount
            scratch[dest] = AccountState(dest, amount, ledger_seq << 32, ledger_seq, 0)
            return "create_account", "op_success", fields, parts
        return type(op).__name__.lower(), "op_not_supported", {}, set()


_TYPE_I = {"create_account": 0, "payment": 1}


def _stroops(amount: str) -> int:
    """Exact stroops of a stellar-sdk decoded amount (a Decimal string, possibly like ``1E-7``)."""
    return int(Decimal(amount).scaleb(7))

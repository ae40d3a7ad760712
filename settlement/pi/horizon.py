"""Pi blockchain client on stellar-sdk: read transactions and payments, and send app-to-user payouts.

Pi's chain is a Stellar fork served by a Horizon fork. From pi-apps/pi-nodejs: ``.env.production``
(``https://api.mainnet.minepi.com`` with passphrase "Pi Network", ``https://api.testnet.minepi.com``
with "Pi Testnet"), ``src/config.ts`` (180 s default time bounds) and ``src/index.ts``, which builds
A2U payouts like :meth:`PiHorizon.build_payout`: load the app account, fetch the base fee, one
native payment, text memo = Pi payment identifier, time bounds, sign with the app seed.
Horizon's behaviour relied on (Stellar docs, "Submit a Transaction" / "Transaction Failed" /
"Timeout" errors): a 504 on submission means the outcome is unknown and the SAME envelope must be
resubmitted (a duplicate is answered with the already-included result, never applied twice);
``tx_too_early`` means the ledger's clock has not reached ``min_time`` yet; once ``max_time``
has passed a transaction can never be included, so the outcome becomes final.

Amounts are integer minor units (10^-7 Pi), converted to and from Horizon's 7-decimal strings
exactly (see :mod:`settlement.pi.amounts`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from stellar_sdk import Asset, Keypair, Server, TransactionBuilder, TransactionEnvelope
from stellar_sdk.client.base_sync_client import BaseSyncClient
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import (
    BadRequestError,
    BadResponseError,
    BaseHorizonError,
    ConnectionError,
    MemoInvalidException,
    NotFoundError,
)

from common.errors import MSCError, ValidationError
from settlement.pi.amounts import to_minor, to_stellar_amount

PI_MAINNET_PASSPHRASE = "Pi Network"
PI_TESTNET_PASSPHRASE = "Pi Testnet"
PI_MAINNET_HORIZON = "https://api.mainnet.minepi.com"
PI_TESTNET_HORIZON = "https://api.testnet.minepi.com"

# Operation types that move the native asset between two accounts, with their (from, to, amount) keys.
_MOVES: Mapping[str, tuple[str, str, str]] = {
    "payment": ("from", "to", "amount"),
    "create_account": ("funder", "account", "starting_balance"),
}


# -------------------------------------------------------------------------------------------- errors


class PiHorizonError(MSCError):
    """Pi's Horizon refused a request or answered something unusable."""

    code: ClassVar[str] = "pi_horizon_error"
    status_code: ClassVar[int] = 502


class PiLedgerNotFoundError(PiHorizonError):
    """No transaction or account with this id on the ledger."""

    code = "pi_ledger_not_found"
    status_code = 404


class PiHorizonUnavailableError(PiHorizonError):
    """Horizon could not be reached or kept answering 5xx."""

    code = "pi_horizon_unavailable"
    status_code = 503


class PiSubmitRejectedError(PiHorizonError):
    """The network rejected the transaction; ``tx_code``/``op_codes`` are Horizon's result codes."""

    code = "pi_submit_rejected"
    status_code = 422

    def __init__(self, message: str, *, tx_code: str, op_codes: list[str], tx_hash: str) -> None:
        super().__init__(message, tx_code=tx_code, op_codes=op_codes, tx_hash=tx_hash)
        self.tx_code = tx_code
        self.op_codes = op_codes
        self.tx_hash = tx_hash


class PiPayoutExpiredError(PiHorizonError):
    """The time bounds passed and the transaction is not on the ledger: it never will be."""

    code = "pi_payout_expired"
    status_code = 504


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class PiTransaction:
    """A transaction as Horizon reports it; ``fee_charged`` in minor units."""

    hash: str
    ledger: int
    successful: bool
    source_account: str
    sequence: int
    fee_charged: int
    memo_type: str
    memo: str | None
    created_at: str
    paging_token: str
    envelope_xdr: str


@dataclass(frozen=True)
class PiOperation:
    """An operation; for native moves (payment, create_account) the parties and amount are set."""

    id: str
    paging_token: str
    type: str
    source_account: str
    transaction_hash: str
    created_at: str
    successful: bool
    from_address: str | None = None
    to_address: str | None = None
    amount: int | None = None
    asset_type: str | None = None

    @property
    def is_native_move(self) -> bool:
        """True for a payment/create_account of native Pi."""
        return self.amount is not None and self.asset_type == "native"


@dataclass(frozen=True)
class PaymentsPage:
    """One page of an account's payments and the cursor to continue from."""

    records: list[PiOperation]
    next_cursor: str | None


def parse_transaction(data: Mapping[str, Any]) -> PiTransaction:
    """A :class:`PiTransaction` from Horizon's transaction resource."""
    try:
        return PiTransaction(
            hash=str(data["hash"]),
            ledger=int(data["ledger"]),
            successful=bool(data["successful"]),
            source_account=str(data["source_account"]),
            sequence=int(data["source_account_sequence"]),
            fee_charged=int(data["fee_charged"]),
            memo_type=str(data.get("memo_type", "none")),
            memo=data.get("memo"),
            created_at=str(data["created_at"]),
            paging_token=str(data["paging_token"]),
            envelope_xdr=str(data["envelope_xdr"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PiHorizonError(f"Horizon transaction resource is malformed: {exc}") from exc


def parse_operation(data: Mapping[str, Any]) -> PiOperation:
    """A :class:`PiOperation` from Horizon's operation resource (amounts exact)."""
    try:
        op_type = str(data["type"])
        moved: dict[str, Any] = {}
        if op_type in _MOVES:
            src, dst, amt = _MOVES[op_type]
            moved = {
                "from_address": str(data[src]),
                "to_address": str(data[dst]),
                "amount": to_minor(Decimal(str(data[amt]))),
                "asset_type": str(data.get("asset_type", "native")),
            }
        return PiOperation(
            id=str(data["id"]),
            paging_token=str(data["paging_token"]),
            type=op_type,
            source_account=str(data["source_account"]),
            transaction_hash=str(data["transaction_hash"]),
            created_at=str(data["created_at"]),
            successful=bool(data.get("transaction_successful", True)),
            **moved,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PiHorizonError(f"Horizon operation resource is malformed: {exc}") from exc


def _records(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    try:
        records = page["_embedded"]["records"]
    except (KeyError, TypeError) as exc:
        raise PiHorizonError("Horizon page has no _embedded.records.") from exc
    return list(records)


def _result_codes(exc: BaseHorizonError) -> tuple[str, list[str]]:
    codes = (exc.extras or {}).get("result_codes") or {}
    return str(codes.get("transaction", "")), [str(c) for c in codes.get("operations", [])]


# -------------------------------------------------------------------------------------------- client


class PiHorizon:
    """Reads from and submits to one Pi Horizon.

    Args:
        horizon_url: Horizon root URL.
        network_passphrase: "Pi Network" (mainnet) or "Pi Testnet".
        client: stellar-sdk HTTP client for reads (default retries GETs on 5xx/connection errors).
        submit_client: HTTP client for submissions; default does NO transport retries, because this
            class decides when to resubmit (and always resubmits the same envelope).
        clock: Seconds since the epoch, injectable for tests.
        sleep: Injectable sleep.
        resubmit_interval: Seconds between resubmissions of one envelope.
    """

    def __init__(
        self,
        horizon_url: str,
        network_passphrase: str,
        *,
        client: BaseSyncClient | None = None,
        submit_client: BaseSyncClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        resubmit_interval: float = 1.0,
    ) -> None:
        self.network_passphrase = network_passphrase
        self._server = Server(horizon_url, client or RequestsClient(num_retries=3, backoff_factor=0.2))
        self._submitter = Server(horizon_url, submit_client or RequestsClient(num_retries=0))
        self._clock = clock
        self._sleep = sleep
        self._resubmit_interval = resubmit_interval

    def close(self) -> None:
        """Close the HTTP sessions of reads and submissions."""
        self._server.close()
        self._submitter.close()

    # -- reads

    def get_transaction(self, tx_hash: str) -> PiTransaction:
        """The transaction with ``tx_hash``; :class:`PiLedgerNotFoundError` if absent."""
        data = self._read(lambda: self._server.transactions().transaction(tx_hash).call(), tx_hash)
        return parse_transaction(data)

    def transaction_operations(self, tx_hash: str) -> list[PiOperation]:
        """All operations of ``tx_hash`` in order."""
        builder = self._server.operations().for_transaction(tx_hash).limit(200).order(desc=False)
        return [parse_operation(r) for r in _records(self._read(builder.call, tx_hash))]

    def payments_page(
        self, account_id: str, *, cursor: str | None = None, limit: int = 50, descending: bool = False
    ) -> PaymentsPage:
        """One page of payments (payment/create_account/...) touching ``account_id``, after ``cursor``."""
        builder = self._server.payments().for_account(account_id).limit(limit).order(desc=descending)
        if cursor:
            builder = builder.cursor(cursor)
        records = [parse_operation(r) for r in _records(self._read(builder.call, account_id))]
        return PaymentsPage(records, records[-1].paging_token if records else cursor)

    def iter_payments(
        self, account_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Iterator[PiOperation]:
        """Every payment of ``account_id`` after ``cursor``, oldest first, paging until the end."""
        while True:
            page = self.payments_page(account_id, cursor=cursor, limit=limit)
            yield from page.records
            if len(page.records) < limit:
                return
            cursor = page.next_cursor

    def stream_payments(self, account_id: str, *, cursor: str = "now") -> Iterator[PiOperation]:
        """Server-Sent Events stream of ``account_id``'s payments after ``cursor`` (blocks for new ones)."""
        stream = self._server.payments().for_account(account_id).cursor(cursor).stream()
        for record in stream:
            yield parse_operation(record)

    def find_transaction_by_memo(
        self, account_id: str, memo: str, *, page_size: int = 100, max_pages: int = 20
    ) -> PiTransaction | None:
        """The newest successful transaction of ``account_id`` whose text memo is ``memo``, if any.

        Used to recover a payout whose answer was lost: Pi payment identifiers are the memo.
        """
        cursor: str | None = None
        for _ in range(max_pages):
            builder = self._server.transactions().for_account(account_id).limit(page_size).order(desc=True)
            if cursor:
                builder = builder.cursor(cursor)
            records = _records(self._read(builder.call, account_id))
            for record in records:
                if (
                    record.get("memo_type") == "text"
                    and record.get("memo") == memo
                    and record.get("successful")
                ):
                    return parse_transaction(record)
            if len(records) < page_size:
                return None
            cursor = str(records[-1]["paging_token"])
        return None

    def balance(self, account_id: str) -> int:
        """Native balance of ``account_id`` in minor units."""
        data = self._read(lambda: self._server.accounts().account_id(account_id).call(), account_id)
        for entry in data.get("balances", []):
            if entry.get("asset_type") == "native":
                return to_minor(Decimal(str(entry["balance"])))
        raise PiHorizonError(f"Account {account_id} has no native balance.")

    # -- payouts

    def build_payout(
        self, signer: Keypair, destination: str, amount: int, memo: str, *, timeout_seconds: int = 60
    ) -> TransactionEnvelope:
        """Build and sign a native payment of ``amount`` minor units with text ``memo``.

        Time bounds are ``[now, now + timeout_seconds]``: short, so a lost submission becomes a
        definite failure quickly instead of a payout that might still land hours later.
        """
        if amount <= 0:
            raise ValidationError("A payout must be a positive amount.", amount=amount)
        account = self._read(lambda: self._server.load_account(signer.public_key), signer.public_key)
        try:
            base_fee = self._server.fetch_base_fee()
        except (BaseHorizonError, ConnectionError):
            base_fee = 100_000 if self.network_passphrase == PI_MAINNET_PASSPHRASE else 100
        now = int(self._clock())
        try:
            envelope = (
                TransactionBuilder(account, network_passphrase=self.network_passphrase, base_fee=base_fee)
                .append_payment_op(
                    destination=destination, asset=Asset.native(), amount=to_stellar_amount(amount)
                )
                .add_text_memo(memo)
                .add_time_bounds(now, now + timeout_seconds)
                .build()
            )
        except MemoInvalidException as exc:
            raise ValidationError(
                f"Memo {memo!r} is not a valid text memo (max 28 bytes).", memo=memo
            ) from exc
        envelope.sign(signer)
        return envelope

    def submit(self, envelope: TransactionEnvelope) -> PiTransaction:
        """Submit ``envelope`` until it is included, rejected, or its time bounds pass.

        5xx answers, connection errors and ``tx_too_early`` lead to resubmitting the SAME signed
        envelope (same hash, same sequence), so it is applied at most once. After ``max_time`` the
        ledger is asked for the hash one last time: found means success, absent means
        :class:`PiPayoutExpiredError` (it can no longer be included).
        """
        tx_hash = envelope.hash_hex()
        bounds = (
            envelope.transaction.preconditions.time_bounds if envelope.transaction.preconditions else None
        )
        max_time = bounds.max_time if bounds is not None and bounds.max_time else None
        last_problem = "no answer"
        while max_time is None or self._clock() <= max_time:
            try:
                data = self._submitter.submit_transaction(envelope, skip_memo_required_check=True)
                return parse_transaction(data)
            except BadResponseError as exc:
                last_problem = f"HTTP {exc.status}"
            except ConnectionError as exc:
                last_problem = f"connection error: {exc}"
            except BadRequestError as exc:
                tx_code, op_codes = _result_codes(exc)
                if tx_code == "tx_too_early":
                    last_problem = tx_code
                elif tx_code == "tx_bad_seq" and (landed := self._find(tx_hash)) is not None:
                    return landed  # an earlier attempt whose answer we lost was included
                else:
                    raise PiSubmitRejectedError(
                        f"Pi rejected transaction {tx_hash}: {tx_code or exc.title} {op_codes or ''}".strip(),
                        tx_code=tx_code or str(exc.title),
                        op_codes=op_codes,
                        tx_hash=tx_hash,
                    ) from exc
            if max_time is None:
                raise PiHorizonUnavailableError(
                    f"Submitting {tx_hash} failed ({last_problem}); no time bounds to retry in."
                )
            self._sleep(self._resubmit_interval)
        landed = self._find(tx_hash)
        if landed is not None:
            return landed
        raise PiPayoutExpiredError(
            f"Transaction {tx_hash} expired unsubmitted ({last_problem}); it can never be included.",
            tx_hash=tx_hash,
        )

    def pay(
        self, signer: Keypair, destination: str, amount: int, memo: str, *, timeout_seconds: int = 60
    ) -> PiTransaction:
        """Build, sign and submit an app-to-user payout (see :meth:`build_payout`, :meth:`submit`)."""
        return self.submit(
            self.build_payout(signer, destination, amount, memo, timeout_seconds=timeout_seconds)
        )

    # -- helpers

    def _find(self, tx_hash: str) -> PiTransaction | None:
        try:
            return self.get_transaction(tx_hash)
        except PiLedgerNotFoundError:
            return None

    def _read(self, call: Callable[[], Any], subject: str) -> Any:
        try:
            return call()
        except NotFoundError as exc:
            raise PiLedgerNotFoundError(f"{subject} was not found on Pi's ledger.", subject=subject) from exc
        except BadResponseError as exc:
            raise PiHorizonUnavailableError(f"Pi Horizon answered HTTP {exc.status} for {subject}.") from exc
        except ConnectionError as exc:
            raise PiHorizonUnavailableError(f"Pi Horizon unreachable for {subject}: {exc}") from exc
        except BadRequestError as exc:
            raise PiHorizonError(f"Pi Horizon refused the request for {subject}: {exc.detail}") from exc


def payout_record(envelope: TransactionEnvelope) -> dict[str, Any]:
    """What a payout's record keeps of its signed envelope BEFORE it is submitted: the txid, the
    envelope itself (resubmitted unchanged after a crash or a 5xx) and the last second it can land
    (``max_time``, after which it is known never to land and may be signed again)."""
    preconditions = envelope.transaction.preconditions
    bounds = preconditions.time_bounds if preconditions is not None else None
    return {
        "txid": envelope.hash_hex(),
        "envelope_xdr": envelope.to_xdr(),
        "max_time": bounds.max_time if bounds is not None else None,
    }

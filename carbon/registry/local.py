"""A registry with real state, in memory: what the demo and the tests run against.

It keeps what SRN-PPI keeps for the platform's purposes: projects and their verified units per vintage
(numbered serials, issued in blocks), registry accounts, tokenisation locks, the token id each project +
vintage was minted under, retirements and bridge-back requests with the operator's decisions. Rules
are the registry's, not canned answers: serials cannot be locked twice, a token cannot retire more
than is live, a bridge-back reserves units until it is confirmed (units move to the account) or
refused (units become live again, matching the tokens the platform re-mints).

Idempotency is implemented here, not in the HTTP layer, so the in-process adapter and the HTTP server
behave the same: an idempotency key remembers the operation, a fingerprint of its arguments and its
outcome (result or refusal). Replaying the key with the same request returns that outcome and changes
nothing; with a different request it is refused with :class:`IdempotencyKeyReusedError`.

Every public method holds one lock, so the FastAPI server may call it from its thread pool.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from carbon.registry.errors import (
    DuplicateSerialsError,
    IdempotencyKeyReusedError,
    InsufficientTokenisedUnitsError,
    InsufficientVerifiedUnitsError,
    InvalidRegistryRequestError,
    RegistryRefusedError,
    RegistryStateConflictError,
    UnknownBridgeBackError,
    UnknownProjectError,
    UnknownRegistryAccountError,
    UnknownTokenError,
    UnknownTokenisationError,
)
from carbon.registry.interface import (
    BridgeBackRequest,
    BridgeBackStatus,
    RetirementRecord,
    SerialRange,
    TokenisationReceipt,
    TokenisationStatus,
    check_identifier,
    check_text,
    check_token_id,
    check_tonnes,
    check_tx_hash,
    check_vintage,
)
from carbon.registry.ranges import RangeSet

T = TypeVar("T")
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def utcnow() -> datetime:
    """The current time, aware UTC (the default clock)."""
    return datetime.now(UTC)


def derived_confirm_mint_key(reference: str, token_id: int, tx_hash: str) -> str:
    """The idempotency key used for confirm_mint when the caller gives none: a hash of its arguments."""
    digest = hashlib.sha256(f"{reference}|{token_id}|{tx_hash}".encode()).hexdigest()
    return f"confirm-mint-{digest[:40]}"


def check_idempotency_key(key: str) -> str:
    """``key`` if it is 1-255 printable ASCII characters.

    Raises:
        InvalidRegistryRequestError: anything else.
    """
    if (
        not isinstance(key, str)
        or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        or not all(33 <= ord(char) <= 126 for char in key)
    ):
        raise InvalidRegistryRequestError("an idempotency key must be 1-255 printable ASCII characters")
    return key


@dataclass
class _Vintage:
    issued: RangeSet = field(default_factory=RangeSet)
    free: RangeSet = field(default_factory=RangeSet)
    next_serial: int = 1
    token_id: int | None = None


@dataclass
class _Project:
    project_id: str
    name: str
    vintages: dict[int, _Vintage] = field(default_factory=dict)


@dataclass
class _Token:
    token_id: int
    project_id: str
    vintage: int
    live: RangeSet = field(default_factory=RangeSet)
    retired: RangeSet = field(default_factory=RangeSet)
    bridging: RangeSet = field(default_factory=RangeSet)
    bridged: RangeSet = field(default_factory=RangeSet)


@dataclass
class _Account:
    account_id: str
    holder: str
    holdings: dict[tuple[str, int], RangeSet] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    operation: str
    fingerprint: tuple[Any, ...]
    result: Any = None
    refusal: RegistryRefusedError | None = None


class LocalRegistry:
    """An in-memory national registry implementing :class:`RegistryAdapter` plus operator actions."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._projects: dict[str, _Project] = {}
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[int, _Token] = {}
        self._tokenisations: dict[str, TokenisationReceipt] = {}
        self._retirements: dict[str, RetirementRecord] = {}
        self._retirement_by_certificate: dict[str, str] = {}
        self._bridge_backs: dict[str, BridgeBackRequest] = {}
        self._idempotency: dict[str, _Outcome] = {}
        self.replays = 0
        """How many requests were answered from the idempotency store (for tests and metrics)."""

    # --- operator side: what the registry's own staff do -------------------------------------------

    def register_project(self, project_id: str, name: str) -> None:
        """Registers a project (again with the same name: no-op).

        Raises:
            RegistryStateConflictError: the id is taken by a project with another name.
        """
        check_identifier(project_id, "project id")
        check_text(name, "project name")
        with self._lock:
            existing = self._projects.get(project_id)
            if existing is not None:
                if existing.name != name:
                    raise RegistryStateConflictError(
                        f"project {project_id} is already registered as {existing.name!r}",
                        project_id=project_id,
                    )
                return
            self._projects[project_id] = _Project(project_id, name)

    def issue_verified_units(self, project_id: str, vintage: int, tonnes: int) -> SerialRange:
        """Issues ``tonnes`` newly verified units of a vintage; returns their serials (numbered on from 1).

        Raises:
            UnknownProjectError: the project is not registered.
        """
        check_vintage(vintage)
        check_tonnes(tonnes)
        with self._lock:
            block = self._vintage(project_id, vintage, create=True)
            issued = SerialRange(block.next_serial, block.next_serial + tonnes - 1)
            block.next_serial = issued.last + 1
            block.issued.add(issued)
            block.free.add(issued)
            return issued

    def open_account(self, account_id: str, holder: str) -> None:
        """Opens a registry account (again with the same holder: no-op).

        Raises:
            RegistryStateConflictError: the id is taken by another holder.
        """
        check_identifier(account_id, "registry account")
        check_text(holder, "account holder")
        with self._lock:
            existing = self._accounts.get(account_id)
            if existing is not None:
                if existing.holder != holder:
                    raise RegistryStateConflictError(
                        f"registry account {account_id} belongs to {existing.holder!r}", account_id=account_id
                    )
                return
            self._accounts[account_id] = _Account(account_id, holder)

    def confirm_bridge_back(self, request_id: str) -> BridgeBackRequest:
        """The operator accepts a bridge-back: its units move into the destination account.

        Raises:
            UnknownBridgeBackError, RegistryStateConflictError (already refused).
        """
        with self._lock:
            request = self._bridge_back(request_id)
            if request.status is BridgeBackStatus.CONFIRMED:
                return request
            if request.status is BridgeBackStatus.REFUSED:
                raise RegistryStateConflictError(f"bridge-back {request_id} was already refused")
            token = self._tokens[request.token_id]
            account = self._accounts[request.registry_account]
            holding = account.holdings.setdefault((token.project_id, token.vintage), RangeSet())
            for part in request.serials:
                token.bridging.remove(part)
                token.bridged.add(part)
                holding.add(part)
            decided = replace(request, status=BridgeBackStatus.CONFIRMED, decided_at=self._clock())
            self._bridge_backs[request_id] = decided
            return decided

    def refuse_bridge_back(self, request_id: str, reason: str) -> BridgeBackRequest:
        """The operator refuses a bridge-back: its reserved units become live tokens again.

        Raises:
            UnknownBridgeBackError, RegistryStateConflictError (already decided otherwise).
        """
        check_text(reason, "refusal reason")
        with self._lock:
            request = self._bridge_back(request_id)
            if request.status is BridgeBackStatus.REFUSED and request.refusal_reason == reason:
                return request
            if request.status is not BridgeBackStatus.PENDING:
                raise RegistryStateConflictError(
                    f"bridge-back {request_id} was already {request.status.value}"
                )
            token = self._tokens[request.token_id]
            for part in request.serials:
                token.bridging.remove(part)
                token.live.add(part)
            decided = replace(
                request, status=BridgeBackStatus.REFUSED, decided_at=self._clock(), refusal_reason=reason
            )
            self._bridge_backs[request_id] = decided
            return decided

    # --- RegistryAdapter ---------------------------------------------------------------------------

    def request_tokenisation(
        self,
        project_id: str,
        vintage: int,
        tonnes: int,
        serial_range: SerialRange | None,
        idempotency_key: str,
    ) -> TokenisationReceipt:
        """Locks verified units before a mint (see :class:`RegistryAdapter`)."""
        check_identifier(project_id, "project id")
        check_vintage(vintage)
        check_tonnes(tonnes)
        if serial_range is not None and serial_range.size != tonnes:
            raise InvalidRegistryRequestError(
                f"serial range {serial_range} holds {serial_range.size} units, not {tonnes}",
                serial_range=str(serial_range),
                tonnes=tonnes,
            )
        fingerprint = (project_id, vintage, tonnes, serial_range)
        return self._idempotent(
            idempotency_key,
            "request_tokenisation",
            fingerprint,
            lambda: self._lock_units(project_id, vintage, tonnes, serial_range),
        )

    def confirm_mint(
        self, reference: str, token_id: int, tx_hash: str, idempotency_key: str | None = None
    ) -> TokenisationReceipt:
        """Binds a locked tokenisation to its mint (see :class:`RegistryAdapter`)."""
        check_identifier(reference, "tokenisation reference")
        check_token_id(token_id)
        check_tx_hash(tx_hash)
        key = idempotency_key or derived_confirm_mint_key(reference, token_id, tx_hash)
        return self._idempotent(
            key,
            "confirm_mint",
            (reference, token_id, tx_hash),
            lambda: self._mint(reference, token_id, tx_hash),
        )

    def report_retirement(
        self,
        token_id: int,
        tonnes: int,
        beneficiary_name: str,
        reason: str,
        certificate_id: str,
        tx_hash: str,
        idempotency_key: str,
    ) -> RetirementRecord:
        """Retires the token's lowest live serials (see :class:`RegistryAdapter`)."""
        check_token_id(token_id)
        check_tonnes(tonnes)
        check_text(beneficiary_name, "beneficiary name", 200)
        check_text(reason, "retirement reason")
        check_identifier(certificate_id, "certificate id")
        check_tx_hash(tx_hash)
        facts = (token_id, tonnes, beneficiary_name, reason, certificate_id, tx_hash)
        return self._idempotent(idempotency_key, "report_retirement", facts, lambda: self._retire(*facts))

    def request_bridge_back(
        self,
        token_id: int,
        tonnes: int,
        registry_account: str,
        request_id: str,
        idempotency_key: str,
    ) -> BridgeBackRequest:
        """Reserves the token's lowest live serials for a bridge-back, pending review."""
        check_token_id(token_id)
        check_tonnes(tonnes)
        check_identifier(registry_account, "registry account")
        check_identifier(request_id, "bridge-back request id")
        facts = (token_id, tonnes, registry_account, request_id)
        return self._idempotent(idempotency_key, "request_bridge_back", facts, lambda: self._reserve(*facts))

    def bridge_back_status(self, request_id: str) -> BridgeBackRequest:
        """The bridge-back request as it stands."""
        with self._lock:
            return self._bridge_back(request_id)

    # --- reads for tests, the demo and the server --------------------------------------------------

    def tokenisation(self, reference: str) -> TokenisationReceipt:
        """A tokenisation by reference.

        Raises:
            UnknownTokenisationError: no such reference.
        """
        with self._lock:
            receipt = self._tokenisations.get(reference)
            if receipt is None:
                raise UnknownTokenisationError(f"no tokenisation {reference}", reference=reference)
            return receipt

    def retirements(self) -> tuple[RetirementRecord, ...]:
        """Every retirement recorded, oldest first."""
        with self._lock:
            return tuple(self._retirements.values())

    def free_units(self, project_id: str, vintage: int) -> int:
        """Verified units of the vintage not locked, tokenised, retired or moved."""
        with self._lock:
            return self._vintage(project_id, vintage).free.total

    def snapshot(self) -> dict[str, Any]:
        """A deep, comparable copy of the whole registry state (idempotency store excluded)."""
        with self._lock:
            return {
                "projects": {
                    pid: {
                        year: (block.issued.ranges, block.free.ranges, block.next_serial, block.token_id)
                        for year, block in project.vintages.items()
                    }
                    for pid, project in self._projects.items()
                },
                "tokens": {
                    tid: (
                        token.live.ranges,
                        token.retired.ranges,
                        token.bridging.ranges,
                        token.bridged.ranges,
                    )
                    for tid, token in self._tokens.items()
                },
                "accounts": {
                    aid: {key: holding.ranges for key, holding in account.holdings.items()}
                    for aid, account in self._accounts.items()
                },
                "tokenisations": copy.deepcopy(self._tokenisations),
                "retirements": copy.deepcopy(self._retirements),
                "bridge_backs": copy.deepcopy(self._bridge_backs),
            }

    # --- rules -------------------------------------------------------------------------------------

    def _idempotent(
        self, key: str, operation: str, fingerprint: tuple[Any, ...], action: Callable[[], T]
    ) -> T:
        check_idempotency_key(key)
        with self._lock:
            outcome = self._idempotency.get(key)
            if outcome is not None:
                if outcome.operation != operation or outcome.fingerprint != fingerprint:
                    raise IdempotencyKeyReusedError(
                        f"idempotency key {key!r} was already used for another {outcome.operation} request",
                        idempotency_key=key,
                    )
                self.replays += 1
                if outcome.refusal is not None:
                    raise copy.copy(outcome.refusal)
                result: T = outcome.result
                return result
            try:
                result = action()
            except IdempotencyKeyReusedError:
                raise
            except RegistryRefusedError as refusal:
                self._idempotency[key] = _Outcome(operation, fingerprint, refusal=refusal)
                raise
            self._idempotency[key] = _Outcome(operation, fingerprint, result=result)
            return result

    def _vintage(self, project_id: str, vintage: int, create: bool = False) -> _Vintage:
        project = self._projects.get(project_id)
        if project is None:
            raise UnknownProjectError(f"project {project_id} is not registered", project_id=project_id)
        if create:
            return project.vintages.setdefault(vintage, _Vintage())
        return project.vintages.get(vintage) or _Vintage()

    def _lock_units(
        self, project_id: str, vintage: int, tonnes: int, serial_range: SerialRange | None
    ) -> TokenisationReceipt:
        block = self._vintage(project_id, vintage)
        if serial_range is None:
            if block.free.total < tonnes:
                raise InsufficientVerifiedUnitsError(
                    f"project {project_id} vintage {vintage} has {block.free.total} free verified units, "
                    f"{tonnes} asked",
                    project_id=project_id,
                    vintage=vintage,
                    available=block.free.total,
                    requested=tonnes,
                )
            serials = block.free.take_lowest(tonnes)
        else:
            if not block.issued.contains(serial_range):
                raise InsufficientVerifiedUnitsError(
                    f"serials {serial_range} of project {project_id} vintage {vintage} are not all verified",
                    project_id=project_id,
                    vintage=vintage,
                    serial_range=str(serial_range),
                )
            if not block.free.contains(serial_range):
                taken = RangeSet([serial_range])
                for part in block.free.intersection(serial_range):
                    taken.remove(part)
                raise DuplicateSerialsError(
                    f"serials {', '.join(map(str, taken.ranges))} of project {project_id} vintage {vintage} "
                    "are already locked, tokenised or moved",
                    project_id=project_id,
                    vintage=vintage,
                    conflicting=[str(part) for part in taken.ranges],
                )
            block.free.remove(serial_range)
            serials = (serial_range,)
        reference = f"SRN-TOK-{len(self._tokenisations) + 1:06d}"
        receipt = TokenisationReceipt(
            reference=reference,
            project_id=project_id,
            vintage=vintage,
            tonnes=tonnes,
            serials=serials,
            status=TokenisationStatus.LOCKED,
            locked_at=self._clock(),
        )
        self._tokenisations[reference] = receipt
        return receipt

    def _mint(self, reference: str, token_id: int, tx_hash: str) -> TokenisationReceipt:
        receipt = self._tokenisations.get(reference)
        if receipt is None:
            raise UnknownTokenisationError(f"no tokenisation {reference}", reference=reference)
        if receipt.status is TokenisationStatus.MINTED:
            if (receipt.token_id, receipt.tx_hash) == (token_id, tx_hash):
                return receipt
            raise RegistryStateConflictError(
                f"tokenisation {reference} is already minted as token {receipt.token_id} ({receipt.tx_hash})",
                reference=reference,
            )
        block = self._vintage(receipt.project_id, receipt.vintage)
        token = self._tokens.get(token_id)
        if token is not None and (token.project_id, token.vintage) != (receipt.project_id, receipt.vintage):
            raise RegistryStateConflictError(
                f"token {token_id} stands for project {token.project_id} vintage {token.vintage}",
                token_id=str(token_id),
            )
        if block.token_id is not None and block.token_id != token_id:
            raise RegistryStateConflictError(
                f"project {receipt.project_id} vintage {receipt.vintage} is token {block.token_id}",
                token_id=str(block.token_id),
            )
        if token is None:
            token = self._tokens[token_id] = _Token(token_id, receipt.project_id, receipt.vintage)
        block.token_id = token_id
        for part in receipt.serials:
            token.live.add(part)
        minted = replace(
            receipt,
            status=TokenisationStatus.MINTED,
            token_id=token_id,
            tx_hash=tx_hash,
            minted_at=self._clock(),
        )
        self._tokenisations[reference] = minted
        return minted

    def _token(self, token_id: int) -> _Token:
        token = self._tokens.get(token_id)
        if token is None:
            raise UnknownTokenError(f"no units were tokenised as token {token_id}", token_id=str(token_id))
        return token

    def _retire(
        self,
        token_id: int,
        tonnes: int,
        beneficiary_name: str,
        reason: str,
        certificate_id: str,
        tx_hash: str,
    ) -> RetirementRecord:
        known = self._retirement_by_certificate.get(certificate_id)
        if known is not None:
            record = self._retirements[known]
            same = (record.token_id, record.tonnes, record.beneficiary_name, record.reason, record.tx_hash)
            if same == (token_id, tonnes, beneficiary_name, reason, tx_hash):
                return record  # the same retirement reported under another key: recorded once
            raise RegistryStateConflictError(
                f"certificate {certificate_id} was reported with other facts ({record.retirement_id})",
                certificate_id=certificate_id,
            )
        token = self._token(token_id)
        if token.live.total < tonnes:
            raise InsufficientTokenisedUnitsError(
                f"token {token_id} has {token.live.total} live units, {tonnes} to retire",
                token_id=str(token_id),
                available=token.live.total,
                requested=tonnes,
            )
        serials = token.live.take_lowest(tonnes)
        for part in serials:
            token.retired.add(part)
        record = RetirementRecord(
            retirement_id=f"SRN-RET-{len(self._retirements) + 1:06d}",
            token_id=token_id,
            project_id=token.project_id,
            vintage=token.vintage,
            tonnes=tonnes,
            beneficiary_name=beneficiary_name,
            reason=reason,
            certificate_id=certificate_id,
            tx_hash=tx_hash,
            serials=serials,
            recorded_at=self._clock(),
        )
        self._retirements[record.retirement_id] = record
        self._retirement_by_certificate[certificate_id] = record.retirement_id
        return record

    def _reserve(
        self, token_id: int, tonnes: int, registry_account: str, request_id: str
    ) -> BridgeBackRequest:
        known = self._bridge_backs.get(request_id)
        if known is not None:
            if (known.token_id, known.tonnes, known.registry_account) == (token_id, tonnes, registry_account):
                return known
            raise RegistryStateConflictError(
                f"bridge-back {request_id} was already requested with other facts", request_id=request_id
            )
        token = self._token(token_id)
        if registry_account not in self._accounts:
            raise UnknownRegistryAccountError(
                f"registry account {registry_account} does not exist", registry_account=registry_account
            )
        if token.live.total < tonnes:
            raise InsufficientTokenisedUnitsError(
                f"token {token_id} has {token.live.total} live units, {tonnes} to bridge back",
                token_id=str(token_id),
                available=token.live.total,
                requested=tonnes,
            )
        serials = token.live.take_lowest(tonnes)
        for part in serials:
            token.bridging.add(part)
        request = BridgeBackRequest(
            request_id=request_id,
            token_id=token_id,
            tonnes=tonnes,
            registry_account=registry_account,
            status=BridgeBackStatus.PENDING,
            serials=serials,
            requested_at=self._clock(),
        )
        self._bridge_backs[request_id] = request
        return request

    def _bridge_back(self, request_id: str) -> BridgeBackRequest:
        request = self._bridge_backs.get(request_id)
        if request is None:
            raise UnknownBridgeBackError(f"no bridge-back request {request_id}", request_id=request_id)
        return request

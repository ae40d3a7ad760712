"""Taking MSC out of a merchant's custodial wallet: export to the owner's own wallet, and the sweep
of a rotated (retired) custodial address to the current one.

Each move is an EIP-3009 ``TransferWithAuthorization`` signed by the custodial key
(:meth:`custody.service.CustodyService.sign_transfer_out`) and relayed by the platform's
redeemer key. Write-ahead: the authorization and the signed relay transaction are committed
(``merchant_wallet_moves``, ``pending``) before the relay is broadcast, under the redeemer's sender
lock (no other transaction of the key takes its nonce in between). :meth:`WalletMoves.finish`
brings a pending move to ``done`` or ``abandoned`` from the chain, whatever happened before:
rebroadcast of the same transaction (same hash: mined at most once), and if its nonce was taken,
the authorization's on-chain state decides (used: done; unused and still valid: re-signed relay of
the same authorization, which can itself only be used once; expired, or a relay that would now
revert: abandoned). MSC therefore
moves at most once per move, and every move ends recorded.

A rotation keeps the old key (escrowed payments made before it still release to the old address;
:meth:`WalletMoves.sweep` moves what arrives there later).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from chain.eip712 import authorization, msc_domain, split_signature
from chain.errors import ChainError, ContractRevertError
from common.sql.helpers import utcnow
from custody.errors import CustodyKeyNotFoundError
from custody.keystore import KeyRef
from custody.service import TRANSFER, CustodyService
from merchant_money import notices
from merchant_money._merchants import address_of, move_address
from merchant_money.errors import (
    DestinationRefusedError,
    NotCustodialError,
    NothingToMoveError,
    WalletMoveConflictError,
)
from merchant_money.models import MerchantWalletMove, NoticeKind, WalletMoveKind, WalletMoveStatus
from merchant_money.redeem import Confirm, submission_key
from settlement.redemption import rawtx
from settlement.redemption.service import RedemptionService

log = logging.getLogger(__name__)

DEFAULT_VALID_SECONDS = 3600
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MS = WalletMoveStatus


def moves_of(
    sessions: sessionmaker[Session], merchant_id: uuid.UUID, limit: int = 20
) -> list[MerchantWalletMove]:
    """The merchant's latest wallet moves, newest first (SQL only)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(MerchantWalletMove)
                .where(MerchantWalletMove.merchant_id == merchant_id)
                .order_by(MerchantWalletMove.created_at.desc())
                .limit(limit)
            )
        )


class WalletMoves:
    """Exports and sweeps of custodial wallets.

    Args:
        sessions: The platform database.
        redemptions: Lends its redeemer key, sender lock and platform: the relayer of the moves.
        custody: The custodial wallets.
        valid_seconds: Lifetime of each authorization.
        clock: Current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        redemptions: RedemptionService,
        custody: CustodyService,
        *,
        valid_seconds: int = DEFAULT_VALID_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.platform = redemptions.platform
        self.relayer = redemptions.signer
        self.lock = redemptions.lock
        self.custody = custody
        self.valid_seconds = valid_seconds
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def moves(self, merchant_id: uuid.UUID, limit: int = 20) -> list[MerchantWalletMove]:
        """The merchant's latest moves, newest first."""
        return moves_of(self.sessions, merchant_id, limit)

    def open_moves(self, older_than: datetime, limit: int = 200) -> list[uuid.UUID]:
        """Moves still ``pending`` since before ``older_than`` (left by a crash or a busy chain)."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(MerchantWalletMove.id)
                    .where(
                        MerchantWalletMove.status == str(MS.PENDING),
                        MerchantWalletMove.updated_at <= older_than,
                    )
                    .order_by(MerchantWalletMove.updated_at)
                    .limit(limit)
                )
            )

    def finish_open(self, older_than: datetime) -> dict[str, int]:
        """Finishes every move left pending since before ``older_than``; how many ended how.

        A move whose chain outcome is not known yet (its relay still in the mempool) stays
        pending for the next run.
        """
        ended: dict[str, int] = {}
        for move_id in self.open_moves(older_than):
            try:
                status = self.finish(move_id).status
            except ChainError as exc:
                log.warning("wallet move %s not finished yet: %s", move_id, exc)
                status = str(MS.PENDING)
            ended[status] = ended.get(status, 0) + 1
        return ended

    # ------------------------------------------------------------------ export

    def export(
        self,
        merchant_id: uuid.UUID,
        submission: str,
        destination: str,
        user_id: uuid.UUID | None,
        confirm: Confirm,
    ) -> list[MerchantWalletMove]:
        """Moves all MSC of every custodial address of the merchant to ``destination``.

        A repeated submission returns (and finishes) its moves without asking the code again.

        Raises:
            DestinationRefusedError: not an address, the zero address, a platform contract or one
                of the merchant's custodial addresses.
            NotCustodialError: the merchant has no custodial wallet.
            NothingToMoveError: its custodial addresses hold no MSC.
            SecondFactorRequiredError: from ``confirm``; nothing was signed.
        """
        prefix = f"{merchant_id}:export-{submission_key(submission)}:"
        done = self._by_prefix(prefix)
        if done:
            return [self.finish(m.id) for m in done]
        keys = self._keys(merchant_id)
        to = self._destination(destination, keys)
        funded = [(k, b) for k, b in ((k, self._balance(k.address)) for k in keys) if b > 0]
        if not funded:
            raise NothingToMoveError(keys[-1].address)
        confirm()
        moves = [
            self._move(merchant_id, WalletMoveKind.EXPORT, k.address, to, amount, prefix + k.address, user_id)
            for k, amount in funded
        ]
        if any(m.status == MS.DONE for m in moves):
            with self.sessions.begin() as session:
                notices.post_to_owners(session, merchant_id, NoticeKind.WALLET_EXPORTED, to, self.clock())
        return moves

    # ------------------------------------------------------------------ rotation

    def rotate(
        self, merchant_id: uuid.UUID, submission: str, user_id: uuid.UUID | None, confirm: Confirm
    ) -> tuple[str, list[MerchantWalletMove]]:
        """A new custodial key for the merchant: new payments settle to its address (the address on
        file moves in the rotation's transaction), and the MSC of the old addresses is swept to it.

        The second factor (``confirm``) is single-use, so a double submit rotates once: the
        second is refused by its used code before anything changes.

        Returns:
            The new address and the sweep's moves.

        Raises:
            NotCustodialError: the merchant has no custodial wallet.
            SecondFactorRequiredError: from ``confirm``; nothing changed.
        """
        submission_key(submission)
        old = self._current(merchant_id)
        confirm()
        with self.sessions.begin() as session:
            new = self.custody.rotate(session, merchant_id)
            if address_of(session, merchant_id) == old.address:
                move_address(session, merchant_id, old.address, new.address)
            notices.post_to_owners(session, merchant_id, NoticeKind.WALLET_ROTATED, new.address, self.clock())
        return new.address, self.sweep(merchant_id, submission, user_id)

    def sweep(
        self, merchant_id: uuid.UUID, submission: str, user_id: uuid.UUID | None
    ) -> list[MerchantWalletMove]:
        """Moves the MSC of the merchant's retired custodial addresses to its current one.

        It moves the merchant's money only between its own custodial addresses, so it needs no
        second factor (the rotation that made the address retired did).
        """
        prefix = f"{merchant_id}:rotation-{submission_key(submission)}:"
        current = self._current(merchant_id)
        moves = []
        for key in self._keys(merchant_id):
            if key.current:
                continue
            amount = self._balance(key.address)
            if amount > 0:
                moves.append(
                    self._move(
                        merchant_id,
                        WalletMoveKind.ROTATION,
                        key.address,
                        current.address,
                        amount,
                        prefix + key.address,
                        user_id,
                    )
                )
        return moves

    # ------------------------------------------------------------------ one move

    def _move(
        self,
        merchant_id: uuid.UUID,
        kind: WalletMoveKind,
        sender: str,
        to: str,
        amount: int,
        key: str,
        user_id: uuid.UUID | None,
    ) -> MerchantWalletMove:
        """Signs the authorization and the relay, commits them, broadcasts (the move, finished)."""
        with self.sessions() as session:
            existing = session.scalars(
                select(MerchantWalletMove).where(MerchantWalletMove.idempotency_key == key)
            ).one_or_none()
        if existing is not None:
            if (existing.from_address, existing.to_address, existing.kind) != (sender, to, str(kind)):
                raise WalletMoveConflictError(key)
            return self.finish(existing.id)
        w3, msc = self.platform.w3, self.platform.msc
        valid_before = int(w3.eth.get_block("latest")["timestamp"]) + self.valid_seconds
        nonce = os.urandom(32)
        typed = authorization(
            msc_domain(w3.eth.chain_id, msc.address), TRANSFER, sender, to, amount, 0, valid_before, nonce
        )
        with self.sessions.begin() as session:
            auth = self.custody.sign_transfer_out(session, merchant_id, typed, to)
        now = self.clock()
        move = MerchantWalletMove(
            id=uuid.uuid4(),
            idempotency_key=key,
            merchant_id=merchant_id,
            kind=str(kind),
            from_address=sender,
            to_address=to,
            amount=amount,
            valid_after=0,
            valid_before=valid_before,
            signature="0x" + auth.signature.hex(),
            auth_nonce=auth.nonce_hex,
            status=str(MS.PENDING),
            requested_by_user_id=user_id,
            created_at=now,
            updated_at=now,
        )
        with self.lock.hold():
            call = self._relay(move)
            move.tx_hash, move.raw_tx = call.tx_hash, call.raw
            try:
                with self.sessions.begin() as session:
                    session.add(move)
            except IntegrityError:  # a concurrent submission of the same key won
                return self._finish_existing(key)
            log.info(
                "wallet move %s (%s) of merchant %s written ahead: %s",
                move.id,
                kind,
                merchant_id,
                call.tx_hash,
            )
            return self._finish_locked(move.id)

    def _finish_existing(self, key: str) -> MerchantWalletMove:
        with self.sessions() as session:
            move_id = session.scalars(
                select(MerchantWalletMove.id).where(MerchantWalletMove.idempotency_key == key)
            ).one()
        return self._finish_locked(move_id)

    def finish(self, move_id: uuid.UUID) -> MerchantWalletMove:
        """Brings a pending move to ``done`` or ``abandoned`` from the chain (idempotent, resumable)."""
        with self.lock.hold():
            return self._finish_locked(move_id)

    def _finish_locked(self, move_id: uuid.UUID) -> MerchantWalletMove:
        for _ in range(2):
            move = self._load(move_id)
            if move.status != MS.PENDING:
                return move
            receipt = rawtx.broadcast(self.platform.w3, rawtx.SignedCall(move.tx_hash, move.raw_tx))
            if receipt is not None:
                ok = receipt["status"] == 1
                return self._settle(move_id, MS.DONE if ok else MS.ABANDONED)
            # The relay's nonce was taken by another transaction of the relayer: the chain decides.
            sender, nonce = move.from_address, bytes.fromhex(move.auth_nonce[2:])
            if self.platform.msc.functions.authorizationState(sender, nonce).call():
                return self._settle(move_id, MS.DONE)
            if int(self.platform.w3.eth.get_block("latest")["timestamp"]) >= move.valid_before:
                return self._settle(move_id, MS.ABANDONED)
            try:
                call = self._relay(move)
            except ContractRevertError as exc:  # e.g. the MSC left the address meanwhile
                log.warning("wallet move %s abandoned: its relay would revert: %s", move_id, exc)
                return self._settle(move_id, MS.ABANDONED)
            with self.sessions.begin() as session:
                session.execute(
                    update(MerchantWalletMove)
                    .where(MerchantWalletMove.id == move_id, MerchantWalletMove.status == str(MS.PENDING))
                    .values(tx_hash=call.tx_hash, raw_tx=call.raw, updated_at=self.clock())
                )
        raise ChainError(f"wallet move {move_id} lost its relay twice; it is finished later")

    def _relay(self, move: MerchantWalletMove) -> rawtx.SignedCall:
        """The signed relay of the move's authorization (after a dry run; caller holds the lock)."""
        v, r, s = split_signature(bytes.fromhex(move.signature[2:]))
        fn = self.platform.msc.functions.transferWithAuthorization(
            move.from_address,
            move.to_address,
            move.amount,
            move.valid_after,
            move.valid_before,
            bytes.fromhex(move.auth_nonce[2:]),
            v,
            r,
            s,
        )
        return rawtx.sign_call(self.platform.w3, self.relayer, self.platform.decoder, fn)

    def _settle(self, move_id: uuid.UUID, status: WalletMoveStatus) -> MerchantWalletMove:
        with self.sessions.begin() as session:
            session.execute(
                update(MerchantWalletMove)
                .where(MerchantWalletMove.id == move_id, MerchantWalletMove.status == str(MS.PENDING))
                .values(status=str(status), updated_at=self.clock())
            )
        return self._load(move_id)

    def _load(self, move_id: uuid.UUID) -> MerchantWalletMove:
        with self.sessions() as session:
            move = session.get(MerchantWalletMove, move_id)
            assert move is not None, f"wallet move {move_id} vanished"
            session.expunge(move)
            return move

    # ------------------------------------------------------------------ helpers

    def _by_prefix(self, prefix: str) -> list[MerchantWalletMove]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(MerchantWalletMove).where(MerchantWalletMove.idempotency_key.startswith(prefix))
                )
            )

    def _keys(self, merchant_id: uuid.UUID) -> list[KeyRef]:
        with self.sessions() as session:
            keys = self.custody.keys.keys_of(session, merchant_id)
        if not keys:
            raise NotCustodialError(merchant_id)
        return keys

    def _current(self, merchant_id: uuid.UUID) -> KeyRef:
        with self.sessions() as session:
            try:
                return self.custody.wallet(session, merchant_id)
            except CustodyKeyNotFoundError:
                raise NotCustodialError(merchant_id) from None

    def _destination(self, destination: str, keys: list[KeyRef]) -> str:
        text = destination.strip()
        if not Web3.is_address(text):
            raise DestinationRefusedError(text[:64], "it is not an EVM address (0x and 40 hex digits)")
        if text != text.lower() and text[2:] != text[2:].upper() and not Web3.is_checksum_address(text):
            raise DestinationRefusedError(
                text, "its EIP-55 checksum (its mixed case) is wrong; check for a typo"
            )
        to = Web3.to_checksum_address(text)
        if to == ZERO_ADDRESS:
            raise DestinationRefusedError(to, "it is the zero address (the MSC would be lost)")
        platform = {Web3.to_checksum_address(c.address) for c in self.platform.deployment.contracts.values()}
        if to in platform:
            raise DestinationRefusedError(to, "it is a platform contract, not a wallet")
        if to in {k.address for k in keys}:
            raise DestinationRefusedError(to, "it is the platform-managed wallet itself")
        return to

    def _balance(self, address: str) -> int:
        return int(self.platform.msc.functions.balanceOf(address).call())

"""Creating redemption payouts (idempotent per request) and moving them through their statuses.

``requested -> processing -> paid``, or ``processing -> failed -> reversed``. Each move is a
conditional UPDATE on the expected status plus a history row in the caller's transaction; the
ledger movements that go with them are in :mod:`settlement.ledger.flows`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.sql.helpers import utcnow
from settlement.payments.statemachine import InvalidTransitionError, StateMachine
from settlement.payouts import repository
from settlement.payouts.errors import PayoutIdempotencyConflictError, PayoutNotFoundError
from settlement.payouts.models import Payout, PayoutStatus, PayoutStatusChange

S = PayoutStatus

PAYOUT_MACHINE: StateMachine[PayoutStatus] = StateMachine(
    entity="payout",
    initial=S.REQUESTED,
    moves={
        S.REQUESTED: frozenset({S.PROCESSING}),
        S.PROCESSING: frozenset({S.PAID, S.FAILED}),
        S.FAILED: frozenset({S.REVERSED}),
        S.PAID: frozenset(),
        S.REVERSED: frozenset(),
    },
)

MOVE_COLUMNS = frozenset({"bank_reference", "failure_reason"})


class PayoutService:
    """Payout records and their moves.

    Args:
        clock: Current UTC time.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock

    def request(
        self,
        session: Session,
        *,
        idempotency_key: str,
        merchant_id: str,
        amount: int,
        fee: int = 0,
        bank_account: str,
    ) -> Payout:
        """Records a redemption payout; the same key with the same content returns the first one.

        Args:
            amount: Sen of MSC redeemed (> 0).
            fee: Sen kept as fee (0 <= fee < amount).

        Raises:
            ValidationError: empty key/merchant/bank account, or amounts out of range.
            PayoutIdempotencyConflictError: the key was used with other content.
        """
        if not idempotency_key or not merchant_id or not bank_account:
            raise ValidationError("a payout needs an idempotency key, a merchant id and a bank account")
        for name, value in (("amount", amount), ("fee", fee)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"payout {name} must be an integer of sen, got {value!r}", field=name)
        if amount <= 0 or not 0 <= fee < amount:
            raise ValidationError(
                f"payout amount must be positive and the fee between 0 and the amount; got amount {amount}, "
                f"fee {fee}",
                amount=amount,
                fee=fee,
            )
        now = self.clock()
        content = {"merchant_id": merchant_id, "amount": amount, "fee": fee, "bank_account": bank_account}
        repository.insert_if_new(
            session,
            {
                "id": uuid.uuid4(),
                "idempotency_key": idempotency_key,
                **content,
                "status": str(PAYOUT_MACHINE.initial),
                "created_at": now,
                "updated_at": now,
            },
        )
        payout = repository.by_key(session, idempotency_key)
        assert payout is not None
        if any(getattr(payout, name) != value for name, value in content.items()):
            raise PayoutIdempotencyConflictError(idempotency_key, payout.id)
        return payout

    def get(self, session: Session, payout_id: uuid.UUID) -> Payout:
        """The payout with ``payout_id``.

        Raises:
            PayoutNotFoundError: none.
        """
        payout = repository.get(session, payout_id)
        if payout is None:
            raise PayoutNotFoundError(payout_id)
        return payout

    def transition(
        self,
        session: Session,
        payout_id: uuid.UUID,
        from_status: PayoutStatus,
        to_status: PayoutStatus,
        reason: str,
        **values: Any,
    ) -> Payout:
        """Moves a payout from ``from_status`` to ``to_status`` and records why.

        Args:
            values: Further columns to set in the same UPDATE (``bank_reference``, ``failure_reason``).

        Raises:
            InvalidTransitionError: the move is illegal, or the payout is not in ``from_status``.
            PayoutNotFoundError: no such payout.
        """
        PAYOUT_MACHINE.check_request(payout_id, from_status, to_status, reason, values, MOVE_COLUMNS)
        moved = repository.move(
            session, payout_id, str(from_status), str(to_status), reason, self.clock(), values
        )
        payout = repository.get(session, payout_id, fresh=True)
        if payout is None:
            raise PayoutNotFoundError(payout_id)
        if not moved:
            raise InvalidTransitionError("payout", payout_id, from_status, to_status, payout.status)
        return payout

    def history(self, session: Session, payout_id: uuid.UUID) -> list[PayoutStatusChange]:
        """The payout's status moves, oldest first."""
        return repository.history(session, payout_id)

"""SQL table of merchants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime


class Merchant(Base):
    """A business that accepts Pi and is settled in MSC."""

    __tablename__ = "merchants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False, doc="Trading name.")
    kelurahan: Mapped[str] = mapped_column(
        String(100), nullable=False, doc="Sub-district (kelurahan) the merchant trades in."
    )
    evm_address: Mapped[str] = mapped_column(
        String(42), nullable=False, unique=True, doc="EIP-55 checksummed address MSC is paid to."
    )
    pi_username: Mapped[str] = mapped_column(
        String(64), nullable=False, unique=True, doc="The merchant's Pi Network username."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

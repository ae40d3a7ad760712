"""Column types for on-chain values that SQL has no exact native type for.

``Uint256`` keeps integers up to 2**256 - 1 exact on every backend: ``NUMERIC(78, 0)`` on
PostgreSQL, and on SQLite a zero-padded 78-digit decimal string, because SQLite's NUMERIC
affinity silently turns large values into 8-byte REALs. Padding keeps ``ORDER BY`` and
comparisons numerically correct on SQLite too. ``HexBytes`` stores hashes, topics and log data
as raw bytes (half the size of hex text) and hands ``0x``-prefixed lowercase hex to Python.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from common.errors import ValidationError

UINT256_MAX = 2**256 - 1
UINT256_DIGITS = 78  # len(str(2**256 - 1))


class Uint256(TypeDecorator[int]):
    """An unsigned 256-bit integer, exact on PostgreSQL and SQLite; always a Python ``int``."""

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMERIC(78,0) where the database has exact decimals, fixed-width text elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(UINT256_DIGITS, 0))
        return dialect.type_descriptor(String(UINT256_DIGITS))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Checks the range and converts to the backend's form.

        Raises:
            ValidationError: not an int, negative, or above 2**256 - 1.
        """
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"a uint256 column needs an int, got {type(value).__name__}")
        if value < 0 or value > UINT256_MAX:
            raise ValidationError(f"{value} is outside the uint256 range", value=str(value))
        if dialect.name == "postgresql":
            return value
        return str(value).zfill(UINT256_DIGITS)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        """The stored value as an exact ``int``."""
        if value is None:
            return None
        if isinstance(value, Decimal):
            return int(value)
        return int(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        """Literal form for compiled SQL (migrations, views)."""
        bound = self.process_bind_param(value, dialect)
        return str(bound) if dialect.name == "postgresql" else f"'{bound}'"


def uint256_sqlite_zero() -> str:
    """How zero is stored on SQLite (used by views that filter empty balances)."""
    return "0" * UINT256_DIGITS


class HexBytes(TypeDecorator[str]):
    """Binary data (hashes, topics, log data) exchanged with Python as ``0x`` lowercase hex text."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        """Accepts ``0x`` hex text or bytes.

        Raises:
            ValidationError: the text is not hex.
        """
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        text = str(value)
        try:
            return bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
        except ValueError as exc:
            raise ValidationError(f"not hex data: {text[:20]}...") from exc

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """The stored bytes as ``0x`` lowercase hex."""
        if value is None:
            return None
        return "0x" + bytes(value).hex()

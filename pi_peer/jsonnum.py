"""JSON encoding with exact decimal numbers.

The Platform API sends ``amount`` as a JSON number. Python's ``json`` can only write numbers from
``int``/``float``; going through ``float`` is not acceptable for money, so Decimals are written
here as their exact decimal text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Serialise ``value`` to JSON, writing Decimals as exact JSON numbers."""
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral_value() else value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are not written by the peer")
    return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON with non-integer numbers as Decimals."""
    return json.loads(text, parse_float=Decimal)

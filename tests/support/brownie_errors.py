"""Matching Brownie's rendering of a custom-error revert: ``"Name: arg1, arg2"``."""

from __future__ import annotations

from typing import Any


def err(name: str, *args: Any) -> str:
    """The revert message Brownie shows for custom error ``name`` with ``args``.

    Addresses (Brownie accounts, contracts or hex strings) are lower-cased as Brownie prints them.
    """
    return f"{name}: {', '.join(_fmt(a) for a in args)}"


def _fmt(value: Any) -> str:
    address = getattr(value, "address", None)
    if address is not None:
        return str(address).lower()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return str(value)

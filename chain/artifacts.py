"""Compiled contracts as Brownie writes them to ``build/contracts/<Name>.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from chain.errors import ToolchainMissingError


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI and creation bytecode."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: str


def load_artifact(build_dir: Path, name: str) -> Artifact:
    """Reads the artifact of contract ``name``.

    Raises:
        ToolchainMissingError: the contracts were not compiled (run ``make setup`` then
            ``brownie compile``, which ``make run`` and ``make test`` do).
    """
    return _load(build_dir.resolve(), name)


@lru_cache(maxsize=64)
def _load(build_dir: Path, name: str) -> Artifact:
    path = build_dir / "contracts" / f"{name}.json"
    if not path.exists():
        raise ToolchainMissingError(
            f"no build artifact for {name} at {path}: compile the contracts with `brownie compile` "
            "(make run and make test do it)",
            path=str(path),
        )
    data = json.loads(path.read_text())
    return Artifact(name=name, abi=tuple(data["abi"]), bytecode=data.get("bytecode", ""))


def all_abis(build_dir: Path) -> dict[str, tuple[dict[str, Any], ...]]:
    """Every compiled contract's ABI by name (interfaces and libraries included)."""
    folder = build_dir.resolve() / "contracts"
    if not folder.is_dir():
        raise ToolchainMissingError(f"no compiled contracts in {folder}: run `brownie compile`")
    return {p.stem: load_artifact(build_dir, p.stem).abi for p in sorted(folder.glob("*.json"))}

"""Constants and helpers the registry tests share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from carbon.registry.http import HttpRegistryAdapter

API_TOKEN = "test-registry-token"
PROJECT = "PRJ-KALTIM-01"
VINTAGE = 2021
TOKEN_ID = 2**200 + 2021
ACCOUNT = "ACC-PT-HIJAU"


def tx(n: int) -> str:
    """A well-formed transaction hash numbered ``n``."""
    return "0x" + f"{n:064x}"


@dataclass
class SleepRecorder:
    """Stands in for time.sleep: records the delays asked for and sleeps only a moment."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(min(seconds, 0.005))


def minted(adapter: HttpRegistryAdapter, tonnes: int = 40, key: str = "tok-1", mint_tx: int = 1) -> int:
    """Tokenises ``tonnes`` of the project's units and confirms the mint; returns the token id."""
    receipt = adapter.request_tokenisation(PROJECT, VINTAGE, tonnes, None, key)
    adapter.confirm_mint(receipt.reference, TOKEN_ID, tx(mint_tx))
    return TOKEN_ID

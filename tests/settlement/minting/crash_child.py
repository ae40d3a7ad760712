"""A minter process for the crash tests: one ``run_once`` that SIGKILLs itself at a named step.

Usage: ``python tests/settlement/minting/crash_child.py '<json config>'`` with ``db_url``,
``rpc_url``, ``deployment``, ``merchants`` (id -> address), ``kill_at``, ``max_batch``, ``chunk``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path

from sqlalchemy.orm import Session
from web3 import Web3

from chain.deployments import read_deployment
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from settlement.minting.minter import EscrowMinter


def main() -> None:
    config = json.loads(sys.argv[1])
    merchants: dict[str, str] = config["merchants"]
    w3 = Web3(Web3.HTTPProvider(config["rpc_url"]))
    platform = Platform(w3, read_deployment(Path(config["deployment"])), PROJECT_ROOT / "build")
    sessions = make_sessionmaker(create_engine_from_url(config["db_url"]))

    def addresses(session: Session, ids: Collection[str]) -> Mapping[str, str]:
        return {m: merchants[m] for m in ids if m in merchants}

    def observer(step: str, batch_id: uuid.UUID) -> None:
        if step == config["kill_at"]:
            os.kill(os.getpid(), signal.SIGKILL)

    minter = EscrowMinter(
        sessions,
        platform,
        TransactionSender(w3, Signer.dev(1), platform.decoder),
        merchant_addresses=addresses,
        deposit_chunk=config["chunk"],
        observer=observer,
    )
    minter.run_once(config["max_batch"])


if __name__ == "__main__":
    main()

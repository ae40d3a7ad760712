"""``python -m audit liabilities {publish,proof}``: publish a period's root, print a merchant's proof.

``publish --period 2026-11`` snapshots the books (if not yet) and publishes the root on
LiabilityAttestation with the attester key (``MSC_SIGNER_KEY`` / ``MSC_KEYSTORE_PATH``), resuming a
publish a crash interrupted; it prints the result as JSON. ``proof <merchant_id> --period
2026-11`` prints the merchant's proof as the API serves it (input of
``docs/verify_liabilities.py``). The salt secret is ``MSC_LIABILITIES_SALT_SECRET``. Exit status 0
on success; errors are handled by :func:`audit.cli.main` (exit 2).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from audit.liabilities.publish import Attester, publish_period
from audit.liabilities.service import merchant_proof, parse_period
from audit.liabilities.settings import LiabilitySettings
from audit.settings import AuditSettings
from chain.settings import ChainSettings
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade


def _settings(args: argparse.Namespace) -> AuditSettings:
    overrides: dict[str, Any] = {
        name: value
        for name in ("database_url", "rpc_url", "deployment_file", "build_dir")
        if (value := getattr(args, name, None)) is not None
    }
    return AuditSettings.from_env(**overrides)


def _publish(args: argparse.Namespace) -> int:
    settings = _settings(args)
    secret = LiabilitySettings.from_env().secret()
    url = settings.resolved_database_url()
    upgrade(url)
    engine = create_engine_from_url(url)
    try:
        platform = settings.platform()
        attester = Attester(
            platform.w3,
            platform.contract("LiabilityAttestation"),
            Signer.from_settings(ChainSettings.from_env()),
            platform.decoder,
        )
        done = publish_period(make_sessionmaker(engine), attester, parse_period(args.period), secret)
    finally:
        engine.dispose()
    print(
        json.dumps(
            {
                "period": done.period,
                "root": done.root,
                "total": str(done.total),
                "block_number": done.block_number,
                "tx_hash": done.tx_hash,
                "leaves": done.leaf_count,
            }
        )
    )
    return 0


def _proof(args: argparse.Namespace) -> int:
    settings = _settings(args)
    secret = LiabilitySettings.from_env().secret()
    engine = create_engine_from_url(settings.resolved_database_url())
    try:
        with make_sessionmaker(engine)() as session:
            proof = merchant_proof(session, parse_period(args.period), args.merchant_id, secret)
    finally:
        engine.dispose()
    print(json.dumps(proof.to_json(), indent=2))
    return 0


def add_parser(sub: Any) -> None:
    """Adds ``liabilities`` with its two subcommands to the audit command line."""
    parser = sub.add_parser("liabilities", help="proof of liabilities: publish a period, print a proof")
    lsub = parser.add_subparsers(dest="liabilities_command", required=True)
    pub = lsub.add_parser("publish", help="snapshot the books and publish the period's root")
    pub.add_argument("--period", required=True, help="YYYY-MM")
    pr = lsub.add_parser("proof", help="print a merchant's proof as JSON")
    pr.add_argument("merchant_id")
    pr.add_argument("--period", required=True, help="YYYY-MM")
    for p in (pub, pr):
        p.add_argument("--database-url", dest="database_url")
    pub.add_argument("--rpc-url", dest="rpc_url")
    pub.add_argument("--deployment-file", dest="deployment_file")
    pub.add_argument("--build-dir", dest="build_dir")
    pub.set_defaults(run=_publish)
    pr.set_defaults(run=_proof)


def main(argv: Sequence[str]) -> int:
    """Runs ``liabilities ...`` alone (the audit CLI adds it as a subcommand)."""
    parser = argparse.ArgumentParser(prog="python -m audit")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status

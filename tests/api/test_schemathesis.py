"""schemathesis against the whole API: no request it generates from /openapi.json gets a 5xx.

The app is served for real (uvicorn in a thread on an ephemeral port) over a migrated SQLite
database in tmp_path, with the platform deployed on anvil (port 8731) so the chain-backed routes
answer from a real node instead of 503. schemathesis runs from its own virtual environment
(``.venv-schemathesis``, made by ``tools/bootstrap.sh``: its hypothesis conflicts with
eth-brownie's pin) once with a merchant key and once with an operator key, with a bounded number
of examples and a fixed seed. The test fails on any failed check and prints schemathesis' report.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.auth import issue_key
from api.carbon.service import CarbonGateway
from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from api.models import Role
from api.settings import ApiSettings
from chain.settings import PROJECT_ROOT, ChainSettings
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from tests.api.test_carbon import BUILD, RELAYER, CarbonChain, deploy_carbon_chain

PORT = 8731
# anvil dev account 1 (public development mnemonic; holds test ETH on the private anvil only).
DEV_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SCHEMATHESIS = PROJECT_ROOT / ".venv-schemathesis" / "bin" / "schemathesis"
MAX_EXAMPLES = 3
SEED = 20261122
CHECKS = "not_a_server_error,response_schema_conformance"
RUN_TIMEOUT_S = 150


@dataclass
class Served:
    """The running API and the keys schemathesis calls it with."""

    base_url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonChain]:
    yield from deploy_carbon_chain(PORT, tmp_path_factory.mktemp("schemathesis-chain"))


def _keys(url: str) -> dict[str, str]:
    engine = create_engine_from_url(url)
    with make_sessionmaker(engine).begin() as session:
        _, merchant_key = merchants.create(
            session,
            MerchantCreate(
                name="Warung Schemathesis",
                kelurahan="Taman",
                evm_address=Signer.dev(5).address,
                pi_username=f"st_{uuid.uuid4().hex[:8]}",
            ),
        )
        operator = issue_key(session, Role.OPERATOR).secret
    engine.dispose()
    return {"merchant": merchant_key.secret, "operator": operator}


@pytest.fixture(scope="module")
def served(chain: CarbonChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis-db') / 'api.sqlite3'}"
    upgrade(url)
    keys = _keys(url)
    env = {
        "MSC_RPC_URL": chain.node.url,
        "MSC_NETWORK": "development",
        "MSC_DEPLOYMENTS_DIR": str(chain.deployment_file.parent),
        "MSC_BUILD_DIR": str(BUILD),
        # The platform's signer (relayer, redeemer) is configured as in any deployment.
        "MSC_SIGNER_KEY": DEV_KEY,
    }
    with pytest.MonkeyPatch.context() as patch:
        # Services other routers build from MSC_* on first use find the test chain, not port 8545.
        for name, value in env.items():
            patch.setenv(name, value)
        chain_settings = ChainSettings.from_env({}, **{k[4:].lower(): v for k, v in env.items()})
        app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain_settings)
        app.state.carbon = CarbonGateway(chain.platform, Signer.dev(RELAYER))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{port}", keys)
        finally:
            server.should_exit = True
            thread.join(20)
            sock.close()


@pytest.mark.parametrize("role", ["merchant", "operator"])
def test_schemathesis_finds_no_server_error(served: Served, role: str, tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: run `make setup` (tools/bootstrap.sh installs it)")
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{served.base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        "examples,fuzzing",
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {served.keys[role]}",
        "--report-dir",
        str(tmp_path / "report"),
        "--no-color",
    ]
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=tmp_path,  # hypothesis' example database goes here, not into the checkout
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    elapsed = time.monotonic() - started
    report = result.stdout + result.stderr
    print(report)
    print(f"schemathesis ({role} key) took {elapsed:.1f} s")
    assert result.returncode == 0, f"schemathesis found problems with the {role} key:\n{report}"

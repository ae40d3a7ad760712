"""Carbon credit projections: every derived row equals what CarbonCredits answers.

CarbonCredits is deployed on a private anvil; two projects are registered, three vintages
verified and issued, credits moved with single and batch transfers, retired for several
beneficiaries (by holders and by an approved operator), and returned to the registry with
bridge-back requests (one confirmed, one refused, one left pending). The mirror (SQLite and
PostgreSQL) is checked row by row against ``project``, ``vintage``, ``balanceOf`` (the contract's
own custody included), ``certificate``, ``bridgeRequest`` and ``retiredFor``, with the invariant
held + custody + retired + bridged == issued per token; the reader's confirmed views against a
mirror stopped at the confirmed block; and after a reorg, the reverted mirror against a fresh index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from web3 import Web3
from web3.exceptions import ContractLogicError

from chain.artifacts import load_artifact
from chain.deployments import DeployedContract, Deployment, write_deployment
from chain.localnode import AnvilNode
from indexer.carbon_state import BRIDGE_REQUESTS, CARBON_BALANCES, PROJECTS, RETIREMENTS, VINTAGES
from indexer.models import CarbonBridgeStatus
from indexer.reader import beneficiary_retirements, carbon_certificate, carbon_vintage
from indexer.store import CHECKPOINTS
from tests.indexer.conftest import BACKENDS
from tests.indexer.support import BUILD_DIR, Chain, dump, index, pipeline_for, rpc, rpc_batch

PORT = 8650
REORG_PORT = 8651
GAS = 600_000
GAS_PRICE = 10**9
PERIOD = (1_700_000_000, 1_731_536_000)
TYPES = ("reforestation", "mangrove", "peatland", "solar", "wind", "hydro", "biogas", "other")
STANDARDS = ("verra_vcs", "gold_standard", "srn_ppi")
BRIDGE_STATUS = {
    1: CarbonBridgeStatus.PENDING,
    2: CarbonBridgeStatus.CONFIRMED,
    3: CarbonBridgeStatus.REFUSED,
}


def token_id(project: int, year: int) -> int:
    """The contract's ``tokenIdOf``."""
    return project << 16 | year


T1, T2, T3 = token_id(1, 2021), token_id(1, 2022), token_id(2, 2023)
UNVERIFIED = token_id(2, 2024)


@dataclass
class Carbon:
    """CarbonCredits on one anvil, and the :class:`Chain` the indexer helpers take."""

    chain: Chain
    contract: Any
    beneficiaries: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The node's URL."""
        return self.chain.url

    @property
    def address(self) -> str:
        """The contract's lowercase address."""
        return str(self.contract.address).lower()

    def tx(self, sender: str, fn: str, *args: Any) -> tuple[str, list[Any]]:
        """An ``eth_sendTransaction`` call of ``fn``."""
        data = self.contract.encode_abi(fn, args=list(args))
        return "eth_sendTransaction", [
            {
                "from": sender,
                "to": self.contract.address,
                "data": data,
                "gas": hex(GAS),
                "gasPrice": hex(GAS_PRICE),
            }
        ]

    def mine(self, calls: Sequence[tuple[str, list[Any]]]) -> None:
        """Mines ``calls`` in one block; every one must succeed."""
        rpc(self.url, "evm_setAutomine", [False])
        try:
            hashes = rpc_batch(self.url, calls) if calls else []
            rpc(self.url, "evm_mine")
        finally:
            rpc(self.url, "evm_setAutomine", [True])
        receipts = rpc_batch(self.url, [("eth_getTransactionReceipt", [h]) for h in hashes]) if hashes else []
        for receipt in receipts:
            assert int(receipt["status"], 16) == 1, receipt


def deploy_carbon(url: str, folder: Path) -> Carbon:
    """CarbonCredits with every role on account 0, named as ``scripts/deploy.py`` names it."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    accounts = [str(a) for a in w3.eth.accounts]
    owner = accounts[0]
    artifact = load_artifact(BUILD_DIR, "CarbonCredits")
    tx_hash = (
        w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        .constructor(owner, owner, owner, owner, owner)
        .transact({"from": owner})
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    contract = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    deployment = Deployment(
        network="test",
        chain_id=w3.eth.chain_id,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(),
        contracts={
            "CarbonCredits": DeployedContract(
                "CarbonCredits", contract.address, int(receipt["blockNumber"]), tx_hash.to_0x_hex()
            )
        },
    )
    path = folder / "test.json"
    write_deployment(path, deployment)
    chain = Chain(url, w3, str(contract.address).lower(), int(receipt["blockNumber"]), path, accounts)
    return Carbon(chain, contract)


def _retirement(holder: str, token: int, tonnes: int, beneficiary: str, name: str) -> tuple[Any, ...]:
    return (holder, token, tonnes, beneficiary, name, f"offset {name} {tonnes}t", *PERIOD)


def drive(c: Carbon) -> None:
    """Projects, vintages, issuance, transfers, retirements and bridge-backs (ids 1-3)."""
    a = c.chain.accounts
    owner = a[0]
    c.mine(
        [
            c.tx(owner, "registerProject", "SRN-PPI-0042", 1, 2, "Kab. Madiun, Jawa Timur"),
            c.tx(owner, "registerProject", "VCS-1234", 4, 0, "Sumba Timur, NTT"),
        ]
    )
    c.mine(
        [
            c.tx(owner, "verifyVintage", 1, 2021, 1_000, b"\x11" * 32, "bafy-docs-1", "bafy-meta-1"),
            c.tx(owner, "verifyVintage", 1, 2022, 2_500, b"\x22" * 32, "bafy-docs-2", "bafy-meta-2"),
            c.tx(owner, "verifyVintage", 2, 2023, 10**12, b"\x33" * 32, "bafy-docs-3", "bafy-meta-3"),
        ]
    )
    c.mine(
        [
            c.tx(owner, "issue", T1, a[1], 400),
            c.tx(owner, "issue", T1, a[2], 300),
            c.tx(owner, "issue", T2, a[2], 900),
            c.tx(owner, "issue", T3, a[3], 5 * 10**11),
            c.tx(owner, "issue", T3, a[1], 7),
        ]
    )
    c.mine(
        [
            c.tx(a[1], "safeTransferFrom", a[1], a[4], T1, 120, b""),
            c.tx(a[2], "safeBatchTransferFrom", a[2], a[5], [T1, T2], [50, 400], b""),
            c.tx(a[3], "safeBatchTransferFrom", a[3], a[6], [T3], [10**11], b""),
            c.tx(a[3], "setApprovalForAll", a[6], True),
        ]
    )
    c.mine(
        [
            c.tx(a[1], "retire", _retirement(a[1], T1, 30, a[7], "PT Madiun Hijau")),
            c.tx(a[1], "retire", _retirement(a[1], T3, 7, a[8], "Koperasi Tani")),
            c.tx(a[4], "retire", _retirement(a[4], T1, 20, a[7], "PT Madiun Hijau")),
            c.tx(a[6], "retire", _retirement(a[3], T3, 12_345, a[8], "Koperasi Tani")),
            c.tx(a[5], "retire", _retirement(a[5], T2, 100, a[9], "Pemkab Madiun")),
            c.tx(a[1], "requestBridgeBack", T1, 50, "SRN-ACC-1"),
            c.tx(a[5], "requestBridgeBack", T2, 75, "SRN-ACC-5"),
            c.tx(a[6], "requestBridgeBack", T3, 10**10, "SRN-ACC-6"),
        ]
    )
    c.mine(
        [
            c.tx(owner, "confirmBridgeBack", 1, "SRN-REF-0001"),
            c.tx(owner, "refuseBridgeBack", 2, "account not found"),
            c.tx(a[2], "retire", _retirement(a[2], T2, 1, a[9], "Pemkab Madiun")),
        ]
    )
    c.beneficiaries = [a[7], a[8], a[9]]


@pytest.fixture(scope="module")
def carbon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carbon]:
    """CarbonCredits after :func:`drive`."""
    with AnvilNode(port=PORT) as node:
        c = deploy_carbon(node.url, Path(tmp_path_factory.mktemp("carbon")))
        drive(c)
        yield c


# ---------------------------------------------------------------------- checks


def _call(c: Carbon, fn: str, args: Sequence[Any], block: int) -> Any:
    return getattr(c.contract.functions, fn)(*args).call(block_identifier=block)


def dump_carbon(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The carbon tables plus :func:`support.dump`, for equality checks."""
    out = dump(engine)
    with engine.connect() as conn:
        for table in (PROJECTS, VINTAGES, CARBON_BALANCES, RETIREMENTS, BRIDGE_REQUESTS):
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
    return out


def assert_carbon_exact(engine: Engine, c: Carbon) -> int:
    """Every carbon row against the contract at the checkpoint; returns the block."""
    with engine.connect() as conn:
        block = conn.execute(select(CHECKPOINTS.c.block_number)).scalar_one()
        projects = {r.project_key: r for r in conn.execute(select(PROJECTS))}
        vintages = {r.token_id: r for r in conn.execute(select(VINTAGES))}
        balances = {(r.token_id, r.holder): r.balance for r in conn.execute(select(CARBON_BALANCES))}
        certificates = {r.certificate_id: r for r in conn.execute(select(RETIREMENTS))}
        requests = {r.request_id: r for r in conn.execute(select(BRIDGE_REQUESTS))}
        reader_vintages = {t: carbon_vintage(conn, t, 0) for t in (T1, T2, T3, UNVERIFIED)}
        reader_certs = {i: carbon_certificate(conn, i, 0) for i in range(1, len(certificates) + 2)}
        by_beneficiary = {b.lower(): beneficiary_retirements(conn, b, 0) for b in c.chain.accounts}
    address = c.address
    assert {r.carbon for r in (*projects.values(), *vintages.values())} <= {address}

    for key in range(1, len(projects) + 2):
        registry_id, project_type, standard, location, registered = _call(c, "project", [key], block)
        row = projects.get(key)
        if not registered:
            assert row is None, key
            continue
        assert row is not None, key
        assert (row.registry_id, row.location) == (registry_id, location)
        assert (row.project_type, row.standard) == (TYPES[project_type], STANDARDS[standard])

    for token in (T1, T2, T3, UNVERIFIED):
        project, year, verified, tonnes, issued, retired, bridged, sha, docs, meta = _call(
            c, "vintage", [token], block
        )
        row = vintages.get(token)
        if not verified:
            assert row is None and reader_vintages[token] is None, token
            continue
        assert row is not None, token
        assert (row.project_key, row.year, row.verified_tonnes) == (project, year, tonnes)
        assert (row.issued, row.retired, row.bridged) == (issued, retired, bridged), token
        assert (row.documents_sha256, row.documents_cid, row.metadata_cid) == ("0x" + sha.hex(), docs, meta)
        assert token == project << 16 | year
        assert reader_vintages[token] == dict(row._mapping)

    holders = {a.lower() for a in c.chain.accounts} | {address} | {h for _, h in balances}
    held: dict[int, int] = defaultdict(int)
    for token in (T1, T2, T3, UNVERIFIED):
        for holder in sorted(holders):
            on_chain = _call(c, "balanceOf", [Web3.to_checksum_address(holder), token], block)
            assert balances.get((token, holder), 0) == on_chain, (token, holder)
            if holder != address:
                held[token] += on_chain
    assert all(v > 0 for v in balances.values())  # zero rows are dropped
    for token, row in vintages.items():
        custody = balances.get((token, address), 0)
        assert custody == row.held_for_bridge, token
        assert held[token] + custody + row.retired + row.bridged == row.issued, token

    retired_for: dict[tuple[int, str], int] = defaultdict(int)
    for cert_id in range(1, len(certificates) + 2):
        row = certificates.get(cert_id)
        assert reader_certs[cert_id] == (None if row is None else dict(row._mapping))
        if row is None:
            with pytest.raises(ContractLogicError):
                _call(c, "certificate", [cert_id], block)
            continue
        token, tonnes, _at, start, end, retired_by, beneficiary, name, reason = _call(
            c, "certificate", [cert_id], block
        )
        assert (row.token_id, row.tonnes, row.period_start, row.period_end) == (token, tonnes, start, end)
        assert (row.retired_by, row.beneficiary) == (retired_by.lower(), beneficiary.lower())
        assert (row.beneficiary_name, row.reason) == (name, reason)
        assert row.block_number <= block
        retired_for[(token, row.beneficiary)] += tonnes
    for (token, beneficiary), tonnes in retired_for.items():
        assert _call(c, "retiredFor", [token, Web3.to_checksum_address(beneficiary)], block) == tonnes
    for beneficiary, rows in by_beneficiary.items():
        assert [r["certificate_id"] for r in rows] == sorted(
            i for i, r in certificates.items() if r.beneficiary == beneficiary
        )

    for request_id in range(1, len(requests) + 2):
        token, holder, tonnes, status, account = _call(c, "bridgeRequest", [request_id], block)
        row = requests.get(request_id)
        if status == 0:
            assert row is None, request_id
            continue
        assert row is not None, request_id
        assert (row.token_id, row.holder, row.tonnes) == (token, holder.lower(), tonnes)
        assert (row.status, row.registry_account) == (BRIDGE_STATUS[status], account)
        assert (row.registry_reference is not None) == (row.status == CarbonBridgeStatus.CONFIRMED)
        assert (row.refusal_reason is not None) == (row.status == CarbonBridgeStatus.REFUSED)
        assert (row.resolved_block is None) == (row.status == CarbonBridgeStatus.PENDING)
    return block


# ---------------------------------------------------------------------- tests


def test_carbon_mirror_equals_the_contract(carbon, make_db, backend):
    pipeline = index(make_db(backend), carbon.chain, initial_span=2, max_span=4)
    assert assert_carbon_exact(pipeline.engine, carbon) == carbon.chain.head()
    with pipeline.engine.connect() as conn:
        statuses = sorted(conn.execute(select(BRIDGE_REQUESTS.c.status)).scalars())
        assert statuses == ["confirmed", "pending", "refused"]
        assert len(list(conn.execute(select(RETIREMENTS)))) == 6
        # account 3's credits were retired by an approved operator (account 6)
        by_operator = select(RETIREMENTS).where(RETIREMENTS.c.retired_by == carbon.chain.accounts[3].lower())
        assert conn.execute(by_operator).one().tonnes == 12_345
        assert len(conn.execute(select(RETIREMENTS.c.tx_hash)).scalars().all()[0]) == 66
        counts = [len(beneficiary_retirements(conn, b, 0)) for b in carbon.beneficiaries]
    assert counts == [2, 2, 2]


def test_carbon_reader_answers_as_of_the_confirmed_block(carbon, make_db):
    full = index(make_db("sqlite"), carbon.chain)
    head = carbon.chain.head()
    for k in (1, 2, 3):
        stopped = pipeline_for(make_db("sqlite"), carbon.chain)
        stopped.run(follow=False, stop_at=head - k)
        with full.engine.connect() as late, stopped.engine.connect() as early:
            for token in (T1, T2, T3, UNVERIFIED):
                assert carbon_vintage(late, token, k) == carbon_vintage(early, token, 0), (k, token)
            for cert_id in range(1, 8):
                assert carbon_certificate(late, cert_id, k) == carbon_certificate(early, cert_id, 0)
            for b in carbon.beneficiaries:
                assert beneficiary_retirements(late, b, k) == beneficiary_retirements(early, b, 0)
    with full.engine.connect() as conn:  # the last block changed vintages
        assert carbon_vintage(conn, T1, 1) != carbon_vintage(conn, T1, 0)


def test_reorg_of_carbon_blocks_equals_a_fresh_index(tmp_path_factory, make_db):
    with AnvilNode(port=REORG_PORT) as node:
        c = deploy_carbon(node.url, Path(tmp_path_factory.mktemp("carbon_reorg")))
        a, owner = c.chain.accounts, c.chain.accounts[0]
        c.mine([c.tx(owner, "registerProject", "SRN-PPI-7", 0, 2, "Madiun")])
        c.mine([c.tx(owner, "verifyVintage", 1, 2021, 1_000, b"\x01" * 32, "d", "m")])
        c.mine([c.tx(owner, "issue", T1, a[1], 600)])
        snapshot = rpc(c.url, "evm_snapshot")
        drive_fork(c, a, variant=0)
        live = [pipeline_for(make_db(b), c.chain, initial_span=2, max_span=4) for b in BACKENDS]
        for p in live:
            p.run(follow=False)
            with p.engine.connect() as conn:  # the blocks about to be orphaned are mirrored
                assert "FORK-0" in conn.execute(select(PROJECTS.c.registry_id)).scalars().all()
                assert len(conn.execute(select(BRIDGE_REQUESTS)).all()) == 2
        rpc(c.url, "evm_revert", [snapshot])
        drive_fork(c, a, variant=1)
        c.mine([])  # the new fork is longer
        for backend, p in zip(BACKENDS, live, strict=True):
            p.run(follow=False)
            assert p.metrics.reorgs._value.get() == 1
            fresh = index(make_db(backend), c.chain)
            assert dump_carbon(p.engine) == dump_carbon(fresh.engine), backend
            assert_carbon_exact(p.engine, c)


def drive_fork(c: Carbon, a: list[str], variant: int) -> None:
    """Blocks that touch every carbon table (orphaned or canonical, by ``variant``)."""
    owner = a[0]
    c.mine(
        [
            c.tx(owner, "registerProject", f"FORK-{variant}", variant, variant, "Ngawi"),
            c.tx(a[1], "safeTransferFrom", a[1], a[2 + variant], T1, 100 + variant, b""),
            c.tx(a[1], "retire", _retirement(a[1], T1, 10 + variant, a[7 + variant], "Fork Co")),
            c.tx(a[1], "requestBridgeBack", T1, 20 + variant, "ACC"),
            c.tx(a[1], "requestBridgeBack", T1, 30, "ACC-2"),
        ]
    )
    c.mine(
        [
            c.tx(owner, "verifyVintage", 2, 2023 + variant, 500, b"\x02" * 32, "d2", "m2"),
            c.tx(owner, "confirmBridgeBack" if variant else "refuseBridgeBack", 1, "X"),
            c.tx(owner, "refuseBridgeBack" if variant else "confirmBridgeBack", 2, "Y"),
            c.tx(owner, "issue", T1, a[3], 50 + variant),
        ]
    )

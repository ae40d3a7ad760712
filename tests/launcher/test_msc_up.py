"""The main job, run as a newcomer runs it: ``msc up`` on the embedded defaults.

It starts its own anvil on port 8545 (the test suite's chain is on 8555), deploys with Brownie
and runs the demo through web3.py. Stop a running ``make run`` before running the tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from accounts.service import SESSION_COOKIE
from carbon.documents import cid_for_bytes
from chain.platform import load_platform
from chain.settings import PROJECT_ROOT, ChainSettings
from common.money import format_idr
from launcher.carbon_demo import RETIRED, SOLD, VERIFICATION_REPORT
from launcher.checkout_demo import BY_HAND, CHECKOUT_AMOUNT
from launcher.demo import DEMO_ESCROWED, DEMO_LOCKED, DEMO_MINT, DEMO_PAYMENT, DEMO_RESERVES, DEMO_REWARDS
from launcher.stack import DEMO_ADMIN_SECRET
from portal.web import ANONYMOUS_CSRF_COOKIE
from settlement.minting.ids import escrow_payment_id

MSC = str(Path(sys.executable).with_name("msc"))
API = "http://127.0.0.1:8000"
PORTAL_LOGIN = re.compile(
    rf"^Portal:    {re.escape(API)}/portal/login .*\n"
    r"^ +owner of Toko Batik Madiun: (?P<email>\S+@\S+) / password (?P<password>\S+)\n"
    rf"^ +the shop's day: (?P<shop>{re.escape(API)}/portal/m/[0-9a-f-]{{36}})$",
    re.MULTILINE,
)
HELD = 1  # MerchantEscrow's status of a payment held in escrow
CHECKOUT_RECEIPT = re.compile(
    r"Toko Batik Madiun: a customer paid Rp (?P<amount>[\d.]+) through the checkout page in headless "
    rf"Chromium, receipt (?P<url>{re.escape(API)}/pay/receipt/(?P<id>[0-9a-f-]{{36}}))$",
    re.MULTILINE,
)


def _run_msc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MSC, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def test_mscUp_deploysAndRunsTheDemo() -> None:
    proc = _run_msc("up", "--once")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    deployment = json.loads((PROJECT_ROOT / "deployments" / "development.json").read_text())
    address = deployment["contracts"]["MadiunStableCoin"]["address"]
    assert re.search(rf"MadiunStableCoin\s+{address}", out)
    assert f"attested reserves of {format_idr(DEMO_RESERVES)}" in out
    merchant = DEMO_MINT - DEMO_PAYMENT + DEMO_ESCROWED - DEMO_LOCKED
    assert f"merchant {format_idr(merchant)}, supplier {format_idr(DEMO_PAYMENT)}" in out
    assert f"supply {format_idr(DEMO_MINT + DEMO_ESCROWED + DEMO_REWARDS)}" in out
    assert f"merchant locked {format_idr(DEMO_LOCKED)} for 90 days (lock #1)" in out
    report_cid = cid_for_bytes(VERIFICATION_REPORT)
    assert f"documents {report_cid}" in out
    assert (PROJECT_ROOT / "var" / "documents").is_dir()
    assert (
        f"{RETIRED} t retired for Warung Pecel Bu Sri, certificate #1; buyer holds {SOLD - RETIRED} t" in out
    )
    assert re.search(r"metadata ipfs://bafkrei[a-z2-7]{52}\)", out)
    for name in ("MadiunStableCoin", "LockStaking", "MerchantEscrow", "CarbonCredits", "CarbonMarket"):
        address = deployment["contracts"][name]["address"]
        assert re.search(rf"{name}\s+{address}", out)
    assert deployment["chain_id"] == 31337
    # The merchants' part, all through the API: three onboarded, four Pi payments settled into
    # escrow, released after the hold, and half of one merchant's MSC redeemed and burned.
    assert "onboarded 3 merchants: Warung Pecel Bu Sri, Toko Batik Madiun, Kerajinan Bambu Pak Darto" in out
    settled = r"customer paid \d+\.\d{7} Pi \(tx [0-9a-f]{12}…\), settled Rp [\d.]+,\d\d"
    assert len(re.findall(settled, out)) == 4
    redeemed = re.search(
        r"redemption [0-9a-f-]{36}: (Rp [\d.,]+) of MSC burned \(supply -(Rp [\d.,]+)\), "
        r"bank transfer paid",
        out,
    )
    assert redeemed is not None and redeemed.group(1) == redeemed.group(2)
    assert re.search(r"Indexer: mirror of the chain up to block \d+", out)
    # Each merchant's checkout link and QR code, how to pay by hand, and one payment made through
    # the checkout page in Debian's headless Chromium (installed here and in CI).
    for name in ("Warung Pecel Bu Sri", "Toko Batik Madiun", "Kerajinan Bambu Pak Darto"):
        link = re.escape(f"{API}/pay/")
        assert re.search(rf"^  {name}: checkout ({link}[0-9a-f-]{{36}})  QR \1/qr\.svg$", out, re.MULTILINE)
    assert BY_HAND in out
    paid = CHECKOUT_RECEIPT.search(out)
    assert paid is not None and paid.group("amount") == CHECKOUT_AMOUNT, out
    # The portal's address and the demo owner's login (the demo signed in with it already).
    assert PORTAL_LOGIN.search(out), out


def _assert_owner_sees_the_checkout_payment(api: httpx.Client, out: str) -> None:
    """Signs in with the printed login and finds the checkout's payment on the shop's payments page."""
    login = PORTAL_LOGIN.search(out)
    paid = CHECKOUT_RECEIPT.search(out)
    assert login is not None and paid is not None, out
    token = "t" * 43  # the login form's double-submit CSRF token: any well-formed value, in cookie and form
    signed_in = api.post(
        "/portal/login",
        data={"email": login.group("email"), "password": login.group("password"), "csrf": token},
        headers={"Cookie": f"{ANONYMOUS_CSRF_COOKIE}={token}"},
    )
    assert signed_in.status_code == 303, signed_in.text
    session = signed_in.cookies.get(SESSION_COOKIE)
    assert session
    page = api.get(login.group("shop") + "/payments", headers={"Cookie": f"{SESSION_COOKIE}={session}"})
    assert page.status_code == 200
    assert "Toko Batik Madiun" in page.text
    assert paid.group("id") in page.text


def test_mscUp_servesTheApiAndTheExplorerUntilTerminated() -> None:
    proc = subprocess.Popen(
        [MSC, "up"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "press Ctrl-C" in line:
                break
        assert any("press Ctrl-C" in line for line in lines), "".join(lines)
        with httpx.Client(base_url="http://127.0.0.1:8000", timeout=30) as api:
            overview = api.get("/explorer")
            assert overview.status_code == 200 and "text/html" in overview.headers["content-type"]
            exported = api.get("/explorer/api/overview").json()
            assert exported  # the overview's figures as JSON, read from the mirror
            assert api.get("/openapi.json").json()["info"]["title"] == "MSC platform API"
            assert api.get("/metrics").status_code == 200
            _assert_paid_through_the_checkout(api, "".join(lines))
            _assert_owner_sees_the_checkout_payment(api, "".join(lines))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # everything let go of its port
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 8000))


def _assert_paid_through_the_checkout(api: httpx.Client, out: str) -> None:
    """The demo's checkout payment: its receipt page answers, the payment is completed and its
    MSC is held in the escrow on the chain."""
    paid = CHECKOUT_RECEIPT.search(out)
    assert paid is not None, out
    receipt = api.get(paid.group("url"))
    assert receipt.status_code == 200 and 'id="escrow"' in receipt.text
    operator = api.post(
        "/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": DEMO_ADMIN_SECRET}
    )
    auth = {"Authorization": f"Bearer {operator.json()['api_key']}"}
    payment = api.get(f"/v1/payments/{paid.group('id')}", headers=auth).json()
    assert payment["status"] == "completed" and payment["idr_amount"] == 1_500_000, payment
    platform = load_platform(ChainSettings.from_env().model_copy(update={"rpc_url": "http://127.0.0.1:8545"}))
    record = platform.escrow.functions.getPayment(escrow_payment_id(uuid.UUID(paid.group("id")))).call()
    assert (record[5], record[1]) == (HELD, payment["idr_amount"])


def test_mscUp_refusesWhenThePortIsTaken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 8545))
        squatter.listen()
        proc = _run_msc("up", "--once")
    assert proc.returncode == 1
    assert "something already listens on port 8545" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_msc_withoutCommandShowsUsage() -> None:
    proc = _run_msc()
    assert proc.returncode == 2
    assert "usage: msc" in proc.stderr

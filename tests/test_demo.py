"""`lianluo demo` as a person runs it: a real process on a real port, within the start-up budget."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from backend.core.db import Database
from backend.core.settings import Settings
from backend.directory.models import Customer
from backend.orgs.models import Org
from backend.orgs.scope import Scope

STARTUP_BUDGET_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], list[str], float]:
    # The embedded PBX at 20× real time: a few calls a second go through the queues while the test runs.
    env = {**os.environ, "LIANLUO_DATA_DIR": str(data_dir), "LIANLUO_PORT": str(port),
           "LIANLUO_SIM_SPEED": "20", "LIANLUO_SIM_CALLS_PER_MINUTE": "6", "LIANLUO_WRAPUP_SECONDS": "1"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "demo"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() - started < STARTUP_BUDGET_S:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "Ctrl+C" in line:  # the banner's last line: serving
            return proc, lines, time.monotonic() - started
    proc.kill()
    raise AssertionError("demo did not come up in time:\n" + "\n".join(lines[-30:]))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _customer_phones(data_dir: Path) -> dict[str, str]:
    """A mobile number of a Beijing customer and of a Shanghai customer."""
    db = Database(Settings(data_dir=data_dir).effective_database_url)
    out = {}
    try:
        async with db.session(scope=Scope.everything()) as s:
            for branch in ("北京分公司", "上海分公司"):
                org = await s.scalar(select(Org).where(Org.name.contains(branch)))
                assert org is not None, branch
                customers = await s.scalars(
                    select(Customer).join(Org, Org.id == Customer.org_id)
                    .where(Org.path.startswith(org.path), Customer.mobile.is_not(None)).limit(1))
                out[branch] = customers.one().mobile
    finally:
        await db.dispose()
    return out


async def test_given_fresh_machine_when_demo_starts_then_it_serves_logins_and_scoped_data(tmp_path: Path) -> None:
    port = _free_port()
    proc, lines, took = _start(tmp_path, port)
    try:
        banner = "\n".join(lines)
        print(f"demo first start (migrate + seed + serve) took {took:.1f}s")
        assert took < STARTUP_BUDGET_S
        assert f"http://127.0.0.1:{port}" in banner
        assert "10000 客户" in banner and "20000 保单" in banner
        password = re.search(r"密码 password: (\S+)", banner).group(1)  # type: ignore[union-attr]
        assert re.search(r"^\s+agent_bj\s+坐席\s+@ .*北京分公司", banner, re.M), banner

        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).json()["checks"] == {"database": "ok", "bus": "ok"}
            r = await client.post("/api/auth/login", json={"username": "agent_bj", "password": password})
            assert r.status_code == 200
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            phones = await _customer_phones(tmp_path)
            own = await client.get("/api/customers", params={"phone": phones["北京分公司"]}, headers=headers)
            assert own.status_code == 200 and len(own.json()) == 1
            customer = own.json()[0]
            assert (await client.get(f"/api/customers/{customer['id']}/policies", headers=headers)).json()
            other = await client.get("/api/customers", params={"phone": phones["上海分公司"]}, headers=headers)
            assert other.status_code == 200 and other.json() == []
            login_page = await client.get("/login")
            assert login_page.status_code == 200 and "登录" in login_page.text

            # the embedded PBX: an agent logs in to a queue through the real AMI bridge …
            joined = await client.put("/api/telephony/agents/me/queues", json={"queues": ["general-service"]},
                                      headers=headers)
            assert joined.status_code == 200, joined.text
            # … and simulated callers' calls become call records, with recordings, for the head office
            r = await client.post("/api/auth/login", json={"username": "org_manager_hq", "password": password})
            manager = {"Authorization": f"Bearer {r.json()['token']}"}
            records: list[dict] = []  # type: ignore[type-arg]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(c["answered"] for c in records):
                await asyncio.sleep(0.5)
                records = (await client.get("/api/calls", headers=manager)).json()
            answered = [c for c in records if c["answered"]]
            assert answered, records
            assert answered[0]["agent_interface"].startswith("PJSIP/10") and answered[0]["talk_seconds"] > 0
            recordings = list((tmp_path / "recordings").glob("call-*.wav"))
            assert recordings, "the simulated PBX recorded no call"
    finally:
        _stop(proc)

    # a second start finds the data and skips the seed
    proc, lines, took = _start(tmp_path, port)
    try:
        print(f"demo restart took {took:.1f}s")
        assert not any("首次运行" in line for line in lines)
        assert took < 20
    finally:
        _stop(proc)

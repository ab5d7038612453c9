"""`lianluo demo` as a person runs it: a real process on a real port, within the start-up budget."""

from __future__ import annotations

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
    env = {**os.environ, "LIANLUO_DATA_DIR": str(data_dir), "LIANLUO_PORT": str(port)}
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

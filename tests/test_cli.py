"""The ``lianluo`` command as an operator uses it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.app import create_app
from backend.cli import build_parser
from backend.core.context import AppContext
from backend.core.settings import Settings

SUBCOMMANDS = ["serve", "cti", "ivr", "worker", "demo", "seed", "db upgrade", "user add"]


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], env={**os.environ, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_given_each_subcommand_when_asked_for_help_then_it_explains_itself(command: str, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command.split(), "--help"])
    assert exc.value.code == 0
    assert "usage: lianluo" in capsys.readouterr().out


BROKEN_FLOW = """\
name: night
start: hello
nodes:
  hello:
    type: play
    prompts: [welcome]
    next: nowhere
"""


@pytest.mark.parametrize("action", [["ivr"], ["ivr", "check"]])
def test_given_a_broken_flow_file_when_the_ivr_starts_then_it_refuses_naming_file_node_and_problem(
        tmp_path: Path, action: list[str]) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "night.yaml").write_text(BROKEN_FLOW)
    r = _run(action, {"LIANLUO_DATA_DIR": str(tmp_path), "LIANLUO_IVR_FLOWS_DIR": str(flows),
                      "LIANLUO_AGI_PORT": "0"})
    assert r.returncode == 2, r.stderr
    assert "night.yaml" in r.stderr and "'hello'" in r.stderr and "nowhere" in r.stderr


def test_given_good_flows_when_checked_then_they_are_listed(tmp_path: Path) -> None:
    r = _run(["ivr", "check"], {"LIANLUO_DATA_DIR": str(tmp_path)})
    assert r.returncode == 0 and "default" in r.stdout


async def test_given_the_ivr_running_when_asterisk_asks_for_an_unknown_flow_then_the_call_is_handed_back(
        tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LIANLUO_DATA_DIR": str(tmp_path), "LIANLUO_AGI_PORT": str(port)}
    assert _run(["db", "upgrade"], {"LIANLUO_DATA_DIR": str(tmp_path)}).returncode == 0
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "backend.cli", "ivr", env=env,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        writer.write(b"agi_network: yes\nagi_network_script: nosuch\nagi_uniqueid: 1795.1\n\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # nothing asked: the dialplan carries on
        writer.close()
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0
    assert b"nosuch" in err and b"does not exist" in err


async def test_given_wrong_ami_secret_when_cti_starts_then_it_exits_naming_the_settings(tmp_path: Path) -> None:
    from tests.ami_replay import TraceReplayServer

    async with TraceReplayServer("inbound_queue_abandon") as server:
        env = {"LIANLUO_DATA_DIR": str(tmp_path), "LIANLUO_AMI_PORT": str(server.port), "LIANLUO_AMI_SECRET": "nope"}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "backend.cli", "cti",
                                                    env={**os.environ, **env}, stderr=asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "refused" in err.decode() and "LIANLUO_AMI_SECRET" in err.decode()


async def test_given_empty_database_when_upgrading_seeding_and_adding_admin_then_admin_can_log_in(
    tmp_path: Path,
) -> None:
    env = {"LIANLUO_DATA_DIR": str(tmp_path)}
    r = _run(["db", "upgrade"], env)
    assert r.returncode == 0, r.stderr
    assert "lianluo.db" in r.stdout
    r = _run(["seed", "--customers", "50", "--policies", "80", "--as-of", "2026-11-01"], env)
    assert r.returncode == 0, r.stderr
    assert "50 customers" in r.stdout
    r = _run(["seed", "--customers", "50", "--policies", "80"], env)
    assert r.returncode != 0  # refuses to seed twice

    r = _run(["user", "add", "first_admin", "--role", "admin", "--password-stdin"], env, stdin="weak\n")
    assert r.returncode == 2 and "密码" in r.stderr
    r = _run(["user", "add", "first_admin", "--role", "admin", "--password-stdin", "--display-name", "首位管理员"],
             env, stdin="Str0ng@Pass\n")
    assert r.returncode == 0, r.stderr
    r = _run(["user", "add", "first_admin", "--role", "admin", "--password-stdin"], env, stdin="Str0ng@Pass\n")
    assert r.returncode == 2 and "已存在" in r.stderr
    r = _run(["user", "add", "x_user", "--role", "admin", "--org", "NOPE", "--password-stdin"], env, stdin="Str0ng@Pass\n")
    assert r.returncode == 2 and "NOPE" in r.stderr

    ctx = AppContext.from_settings(Settings(data_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(ctx)), base_url="http://t") as client:
        r = await client.post("/api/auth/login", json={"username": "first_admin", "password": "Str0ng@Pass"})
        assert r.status_code == 200
        assert r.json()["user"]["role_labels"] == ["系统管理员"]
    await ctx.close()

"""Health, OpenAPI, problem details for routing errors, request ids, secrets kept out of logs."""

from __future__ import annotations

import logging

import pytest

from backend.auth.permissions import Role
from backend.core.settings import Settings, redact_url
from tests.conftest import PASSWORD, Stack


async def test_given_running_app_when_probed_then_healthy_and_ready(stack: Stack) -> None:
    assert (await stack.client.get("/healthz")).json() == {"status": "ok"}
    r = await stack.client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "bus": "ok"}


async def test_given_broken_bus_when_probed_then_not_ready_with_503(stack: Stack) -> None:
    real = stack.ctx.bus

    class DeadBus:
        async def ping(self) -> None:
            raise ConnectionError("down")

    stack.ctx.bus = DeadBus()  # type: ignore[assignment]
    try:
        r = await stack.client.get("/readyz")
    finally:
        stack.ctx.bus = real
    assert r.status_code == 503 and r.json()["checks"]["bus"] == "unavailable"


async def test_given_app_when_asking_for_docs_then_openapi_lists_the_api(stack: Stack) -> None:
    spec = (await stack.client.get("/openapi.json")).json()
    for path in ("/api/auth/login", "/api/customers", "/api/customers/{customer_id}", "/api/policies/{policy_number}",
                 "/api/orgs", "/api/users", "/api/audit", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert (await stack.client.get("/docs")).status_code == 200


async def test_given_unknown_route_or_method_when_called_then_problem_details(stack: Stack) -> None:
    r = await stack.client.get("/api/no-such-thing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "未找到"
    r = await stack.client.delete("/api/auth/me")
    assert r.status_code == 405 and r.json()["status"] == 405


async def test_given_request_id_header_when_calling_then_echoed_in_response_and_problem(stack: Stack) -> None:
    r = await stack.client.get("/api/customers/1", headers={"X-Request-ID": "req-abc-123"})
    assert r.headers["x-request-id"] == "req-abc-123"
    assert r.json()["request_id"] == "req-abc-123"


async def test_given_logins_when_logs_are_written_then_no_password_or_token_or_key_in_them(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    username = stack.users[(Role.agent, "outlet")]
    await stack.client.post("/api/auth/login", json={"username": username, "password": "Wrong@Secret9"})
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    token = r.json()["token"]
    logged = "\n".join(rec.getMessage() + str(vars(rec)) for rec in caplog.records)
    for secret in ("Wrong@Secret9", PASSWORD, token, stack.ctx.settings.signing_key):
        assert secret not in logged


def test_given_settings_with_secrets_when_dumped_for_logs_then_masked() -> None:
    s = Settings(database_url="postgresql+asyncpg://lianluo:p4ss@db/lianluo", secret_key="k" * 40,
                 ami_secret="ami-pass", bus_url="redis://:redispass@redis:6379/0")
    dumped = str(s.safe_dump())
    for secret in ("p4ss", "k" * 40, "ami-pass", "redispass"):
        assert secret not in dumped
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


def test_given_env_vars_when_settings_load_then_they_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANLUO_PORT", "9123")
    monkeypatch.setenv("LIANLUO_BUS_URL", "redis://r:6379/1")
    monkeypatch.setenv("LIANLUO_LOCKOUT_THRESHOLD", "3")
    s = Settings()
    assert (s.port, s.bus_url, s.lockout_threshold) == (9123, "redis://r:6379/1", 3)


def test_given_no_secret_key_when_signing_then_a_key_is_generated_once_and_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = Settings(data_dir=tmp_path).signing_key
    again = Settings(data_dir=tmp_path).signing_key
    assert first == again and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_given_settings_when_reading_readme_then_every_variable_is_documented() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [f"LIANLUO_{name.upper()}" for name in Settings.model_fields if f"`LIANLUO_{name.upper()}`" not in readme]
    assert not missing, f"README does not document: {missing}"
    assert readme.lstrip().startswith("# 联络 Lianluo") and readme.index("make demo") < readme.index("## ")


def test_given_json_log_format_when_logging_then_one_object_per_line_with_context() -> None:
    import json as jsonlib

    from backend.core.logging import JsonFormatter

    record = logging.LogRecord("lianluo.access", logging.INFO, __file__, 1, "GET %s %s", ("/api/x", 200), None)
    record.request_id = "req-1"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = jsonlib.loads(line)
    assert data["msg"] == "GET /api/x 200" and data["level"] == "info" and data["logger"] == "lianluo.access"
    assert data["request_id"] == "req-1" and data["ts"].endswith("+00:00")

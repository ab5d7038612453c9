"""Login, tokens, logout, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.auth.permissions import Role
from backend.core.bus import FROM_START
from backend.core.events import UserLoggedIn
from tests.conftest import NOW, PASSWORD, Stack


@pytest.fixture
async def clock(stack: Stack):  # type: ignore[no-untyped-def]
    yield stack.clock
    stack.clock.set(NOW)


async def test_given_valid_credentials_when_login_then_token_and_cookie_work(stack: Stack) -> None:
    username = stack.users[(Role.agent, "branch")]
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["username"] == username
    assert body["user"]["org_id"] == stack.orgs["branch"].id
    assert "customer.read" in body["user"]["permissions"]
    assert body["user"]["role_labels"] == ["坐席"]
    assert "lianluo_token" in r.cookies

    me = await stack.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["username"] == username
    # the browser path: cookie only
    stack.client.cookies.set("lianluo_token", body["token"])
    me2 = await stack.client.get("/api/auth/me")
    assert me2.status_code == 200
    assert (await stack.client.get("/api/auth/me")).status_code == 401  # the jar was emptied after use


async def test_given_login_when_it_succeeds_then_an_event_is_on_the_security_stream(stack: Stack) -> None:
    username = stack.users[(Role.team_lead, "outlet")]
    before = await stack.ctx.bus.last_id("security")
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    events = await stack.ctx.bus.read("security", after=before or FROM_START)
    logins = [e.event for e in events if isinstance(e.event, UserLoggedIn) and e.event.username == username]
    assert len(logins) == 1
    assert logins[0].org_path == stack.orgs["outlet"].path
    assert logins[0].is_for(logins[0].user_id, None) and not logins[0].is_for(logins[0].user_id + 1, None)


@pytest.mark.parametrize("body", [
    {"username": "t_agent_hq", "password": "wrong-password"},
    {"username": "nobody-at-all", "password": PASSWORD},
])
async def test_given_bad_credentials_when_login_then_401_problem_without_hint(stack: Stack, body: dict) -> None:
    r = await stack.client.post("/api/auth/login", json=body)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == "用户名或密码错误"


async def test_given_no_or_garbage_token_when_calling_api_then_401(stack: Stack) -> None:
    assert (await stack.client.get("/api/auth/me")).status_code == 401
    r = await stack.client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    assert r.json()["title"] == "未登录或登录已过期"


async def test_given_token_signed_with_another_key_when_used_then_401(stack: Stack) -> None:
    from backend.auth import tokens

    forged = tokens.issue("some-other-key-that-is-long-enough-to-sign", 1, "sid", NOW, NOW + timedelta(hours=1))
    r = await stack.client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_given_logout_when_token_reused_then_401(stack: Stack) -> None:
    username = await stack.add_user("logout_user", Role.agent, stack.orgs["outlet"])
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await stack.client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await stack.client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_given_token_when_its_lifetime_passes_then_401(stack: Stack, clock) -> None:  # type: ignore[no-untyped-def]
    username = await stack.add_user("expiry_user", Role.agent, stack.orgs["outlet"])
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    clock.advance(timedelta(minutes=stack.ctx.settings.token_ttl_minutes - 1))
    assert (await stack.client.get("/api/auth/me", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert (await stack.client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_given_repeated_failures_when_threshold_reached_then_locked_until_timeout(
    stack: Stack, clock  # type: ignore[no-untyped-def]
) -> None:
    username = await stack.add_user("lockout_user", Role.agent, stack.orgs["outlet"])
    good = {"username": username, "password": PASSWORD}
    first = await stack.client.post("/api/auth/login", json=good)
    old_headers = {"Authorization": f"Bearer {first.json()['token']}"}
    for _ in range(stack.ctx.settings.lockout_threshold):
        r = await stack.client.post("/api/auth/login", json={"username": username, "password": "Wrong@123"})
        assert r.status_code == 401
    locked = await stack.client.post("/api/auth/login", json=good)
    assert locked.status_code == 423
    assert "锁定" in locked.json()["detail"]
    # a lockout also ends the sessions the account already had
    assert (await stack.client.get("/api/auth/me", headers=old_headers)).status_code == 401

    clock.advance(timedelta(minutes=stack.ctx.settings.lockout_minutes + 1))
    assert (await stack.client.post("/api/auth/login", json=good)).status_code == 200


async def test_given_failures_when_login_succeeds_before_threshold_then_counter_resets(stack: Stack) -> None:
    username = await stack.add_user("reset_user", Role.agent, stack.orgs["outlet"])
    for _round in range(2):
        for _ in range(stack.ctx.settings.lockout_threshold - 1):
            await stack.client.post("/api/auth/login", json={"username": username, "password": "Wrong@123"})
        r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200


async def test_given_login_attempts_when_auditor_reads_log_then_success_and_failure_are_recorded(stack: Stack) -> None:
    username = await stack.add_user("audited_user", Role.agent, stack.orgs["outlet"])
    await stack.client.post("/api/auth/login", json={"username": username, "password": "Wrong@123"})
    await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    r = await stack.get(stack.users[(Role.auditor, "hq")], "/api/audit", params={"limit": 1000})
    assert r.status_code == 200
    mine = [a["action"] for a in r.json() if a["username"] == username]
    assert "auth.login" in mine and "auth.login_failed" in mine
    # the password never lands in the audit log
    assert "Wrong@123" not in r.text and PASSWORD not in r.text


async def test_given_username_taken_in_another_subtree_when_branch_admin_creates_it_then_409(stack: Stack) -> None:
    """Usernames are unique across the whole tree, whatever part of it the creator may see."""
    admin = stack.users[(Role.admin, "branch")]
    taken = stack.users[(Role.agent, "hq")]  # exists outside the branch admin's subtree
    r = await stack.post(admin, "/api/users", json={
        "username": taken, "display_name": "重名", "password": "Str0ng@Pass1", "org_id": stack.orgs["outlet"].id,
        "roles": ["agent"]})
    assert r.status_code == 409, r.text
    assert "已存在" in r.json()["detail"]


def test_given_a_token_when_read_at_platform_times_then_its_life_is_judged_by_the_platform_clock() -> None:
    from backend.auth import tokens

    key = "a-signing-key-that-is-long-enough-for-hs256-0123"
    later = datetime(2031, 1, 1, tzinfo=UTC)  # years ahead of the wall clock: PyJWT alone would refuse it
    token = tokens.issue(key, 7, "sid-1", later, later + timedelta(hours=12))
    assert tokens.read(key, token, later + timedelta(hours=1)).user_id == 7
    with pytest.raises(tokens.BadToken, match="future"):
        tokens.read(key, token, later - timedelta(minutes=5))
    assert tokens.read(key, token, later - timedelta(seconds=30)).session_id == "sid-1"  # within the skew
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.read(key, token, later + timedelta(hours=12))

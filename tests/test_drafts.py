"""Form drafts: autosave round trip, version conflicts, each user sees only their own, key and payload
checks, the size limit, listing by prefix, idempotent delete, and the 30-day housekeeping.

Every test makes its own users, so drafts other tests left behind never count.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.auth.permissions import Role
from backend.core.clock import FrozenClock
from backend.drafts.services import DRAFT_RETENTION_DAYS, MAX_PAYLOAD_BYTES
from tests.conftest import NOW, Stack

KEY = "ticket:complaint:call:1700000000.12"
FORM = {"type": "complaint", "subject": "理赔款迟迟未到账", "complainant_phone": "13800138000",
        "details": {"cause": "claims", "sub_cause": "claim_too_slow"}}


async def user(stack: Stack, role: Role = Role.agent, org: str = "outlet") -> str:
    return await stack.add_user(f"dr_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def put(stack: Stack, who: str, key: str, client: httpx.AsyncClient | None = None,
              **body: Any) -> httpx.Response:
    return await (client or stack.client).put(f"/api/drafts/{key}", headers=await stack.as_user(who),
                                              json={"payload": FORM, **body})


async def delete(stack: Stack, who: str, key: str) -> httpx.Response:
    return await stack.client.delete(f"/api/drafts/{key}", headers=await stack.as_user(who))


def saved(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def clock(stack: Stack) -> Iterator[FrozenClock]:
    stack.forget_tokens()
    yield stack.clock
    stack.clock.set(NOW)  # the stack is shared: leave time where other tests expect it
    stack.forget_tokens()


@pytest.fixture
async def roomy(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The same platform with a request body limit above the draft limit, so the draft's own check answers."""
    ctx = dataclasses.replace(stack.ctx, settings=stack.ctx.settings.model_copy(update={"max_body_bytes": 1 << 20}))
    app = create_app(ctx, own_context=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lianluo.test") as client:
        yield client


async def test_given_a_saved_draft_when_read_back_then_the_same_payload_title_and_times(stack: Stack) -> None:
    agent = await user(stack)
    sent_at = "2026-11-23T16:59:30+08:00"
    out = saved(await put(stack, agent, KEY, title="投诉：理赔款迟迟未到账", saved_at=sent_at))
    assert out == {"form_key": KEY, "title": "投诉：理赔款迟迟未到账", "payload": FORM,
                   "saved_at": out["saved_at"], "updated_at": out["updated_at"], "version": 1}
    assert datetime.fromisoformat(out["saved_at"]) == datetime.fromisoformat(sent_at)
    assert datetime.fromisoformat(out["updated_at"]) == NOW
    r = await stack.get(agent, f"/api/drafts/{KEY}")
    assert r.status_code == 200, r.text
    assert r.json() == out

    again = saved(await put(stack, agent, KEY, payload={**FORM, "subject": "改了"}))
    assert (again["version"], again["payload"]["subject"], again["title"]) == (2, "改了", None)
    # No client time sent: the server's.
    assert datetime.fromisoformat(again["saved_at"]) == NOW


async def test_given_a_stale_version_when_saving_then_409_with_the_current_draft_and_nothing_written(
        stack: Stack) -> None:
    agent = await user(stack)
    saved(await put(stack, agent, KEY))
    other_tab = saved(await put(stack, agent, KEY, version=1, payload={**FORM, "subject": "另一个页面"}))
    assert other_tab["version"] == 2

    r = await put(stack, agent, KEY, version=1, payload={**FORM, "subject": "旧页面"})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("draft-stale")
    assert problem["current"]["version"] == 2 and problem["current"]["payload"]["subject"] == "另一个页面"
    assert saved(await stack.get(agent, f"/api/drafts/{KEY}"))["payload"]["subject"] == "另一个页面"

    # Retried with the version the conflict told, or with none (last writer wins): accepted.
    assert saved(await put(stack, agent, KEY, version=2))["version"] == 3
    assert saved(await put(stack, agent, KEY))["version"] == 4


async def test_given_someone_elses_draft_when_read_or_deleted_then_not_found_and_left_alone(stack: Stack) -> None:
    agent = await user(stack)
    saved(await put(stack, agent, KEY))
    # A colleague, and a manager whose org subtree holds the agent's: neither sees it.
    for other in (await user(stack), await user(stack, Role.org_manager, "branch")):
        r = await stack.get(other, f"/api/drafts/{KEY}")
        assert r.status_code == 404, r.text
        assert r.json()["type"].endswith("draft-not-found")
        assert (await stack.get(other, "/api/drafts")).json() == []
        assert (await delete(stack, other, KEY)).status_code == 204
        # Saving under the same key makes the other user's own draft.
        assert saved(await put(stack, other, KEY, payload={"mine": True}))["version"] == 1
    mine = saved(await stack.get(agent, f"/api/drafts/{KEY}"))
    assert (mine["payload"], mine["version"]) == (FORM, 1)


@pytest.mark.parametrize("key", ["Ticket:new:1", "ticket new", "_ticket", "a" * 129, "票:1", "ticket:new:1!"])
async def test_given_a_malformed_form_key_when_saving_then_422(stack: Stack, key: str) -> None:
    agent = await user(stack)
    r = await put(stack, agent, key)
    assert r.status_code == 422, r.text
    assert (await stack.get(agent, f"/api/drafts/{key}")).status_code == 422


@pytest.mark.parametrize("payload", [[1, 2], "text", 42, None])
async def test_given_a_payload_that_is_not_an_object_when_saving_then_422(stack: Stack, payload: Any) -> None:
    agent = await user(stack)
    r = await put(stack, agent, KEY, payload=payload)
    assert r.status_code == 422, r.text
    assert (await stack.get(agent, f"/api/drafts/{KEY}")).status_code == 404


async def test_given_bad_title_or_version_or_naive_time_when_saving_then_422(stack: Stack) -> None:
    agent = await user(stack)
    for bad in ({"title": "长" * 129}, {"version": 0}, {"saved_at": "2026-11-23T10:00:00"}, {"extra": 1}):
        r = await put(stack, agent, KEY, **bad)
        assert r.status_code == 422, (bad, r.text)


async def test_given_a_payload_over_64_kib_when_saving_then_413_and_nothing_stored(
        stack: Stack, roomy: httpx.AsyncClient) -> None:
    agent = await user(stack)
    # Chinese text counts by its UTF-8 bytes (3 per character), as it travels.
    big = {"subject": "长" * (MAX_PAYLOAD_BYTES // 3)}
    r = await put(stack, agent, KEY, client=roomy, payload=big)
    assert r.status_code == 413, r.text
    assert r.json()["type"].endswith("draft-too-large") and "64 KiB" in r.json()["detail"]
    assert (await stack.get(agent, f"/api/drafts/{KEY}")).status_code == 404
    # Just under the limit is accepted.
    fits = {"subject": "x" * (MAX_PAYLOAD_BYTES - len('{"subject":""}'))}
    assert saved(await put(stack, agent, KEY, client=roomy, payload=fits))["payload"] == fits


async def test_given_several_drafts_when_listed_by_prefix_then_newest_first_without_payload(
        stack: Stack, clock: FrozenClock) -> None:
    agent = await user(stack)
    keys = ["ticket:complaint:new:k3j2", "ticket:claim_report:call:1700000001.5", "kb:article:new:1",
            "ticket:consultation:new:zz"]
    for key in keys:
        clock.advance(timedelta(seconds=1))
        saved(await put(stack, agent, key, title=key))
    clock.advance(timedelta(seconds=1))
    saved(await put(stack, agent, keys[0]))  # touched again: now the newest

    r = await stack.get(agent, "/api/drafts", params={"prefix": "ticket:"})
    assert r.status_code == 200, r.text
    lines = r.json()
    assert [d["form_key"] for d in lines] == [keys[0], keys[3], keys[1]]
    assert set(lines[0]) == {"form_key", "title", "saved_at", "updated_at", "version"}
    everything = (await stack.get(agent, "/api/drafts")).json()
    assert {d["form_key"] for d in everything} == set(keys)
    # LIKE wildcards in the prefix are plain characters.
    assert (await stack.get(agent, "/api/drafts", params={"prefix": "ticket_%"})).json() == []


async def test_given_a_draft_when_deleted_twice_then_204_both_times_and_gone(stack: Stack) -> None:
    agent = await user(stack)
    saved(await put(stack, agent, KEY))
    assert (await delete(stack, agent, KEY)).status_code == 204
    assert (await stack.get(agent, f"/api/drafts/{KEY}")).status_code == 404
    assert (await delete(stack, agent, KEY)).status_code == 204
    assert saved(await put(stack, agent, KEY))["version"] == 1  # a new draft starts again


async def test_given_drafts_untouched_for_over_30_days_when_the_user_saves_then_they_are_purged(
        stack: Stack, clock: FrozenClock) -> None:
    agent, colleague = await user(stack), await user(stack)
    start = NOW - timedelta(days=DRAFT_RETENTION_DAYS + 10)
    clock.set(start)
    stack.forget_tokens()  # logins expire with time: log in again at the new time
    for key in ("ticket:old:1", "ticket:old:2"):
        saved(await put(stack, agent, key))
    saved(await put(stack, colleague, "ticket:old:1"))
    clock.set(start + timedelta(days=11))
    stack.forget_tokens()
    saved(await put(stack, agent, "ticket:recent:1"))

    clock.set(start + timedelta(days=DRAFT_RETENTION_DAYS + 1))
    stack.forget_tokens()
    listed = {d["form_key"] for d in (await stack.get(agent, "/api/drafts")).json()}
    assert listed == {"ticket:old:1", "ticket:old:2", "ticket:recent:1"}  # reading purges nothing
    # The draft being saved survives even though it was old; its sibling of the same age goes.
    assert saved(await put(stack, agent, "ticket:old:1", version=1))["version"] == 2
    listed = {d["form_key"] for d in (await stack.get(agent, "/api/drafts")).json()}
    assert listed == {"ticket:old:1", "ticket:recent:1"}
    # Only the saving user's drafts are purged.
    assert saved(await stack.get(colleague, "/api/drafts/ticket:old:1"))["version"] == 1

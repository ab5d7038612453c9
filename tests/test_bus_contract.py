"""One contract, two buses: in-process and Redis Streams behave the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from backend.core.bus import FROM_START, ONLY_NEW, Bus, create_bus, parse_id
from backend.core.events import Envelope, Event, UserLoggedIn, UserLoggedOut, register
from tests import backends


@register
class _ProbeEvent(Event):
    """A test-only event on its own stream."""

    type: ClassVar[str] = "test.probe"
    stream: ClassVar[str] = "test-probe"
    n: int
    text: str = ""


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        b = create_bus("memory://")
        backends.ran.add("in-process bus contract")
    else:
        if not backends.redis_available():
            if "redis" in backends.REQUIRED:
                pytest.fail("redis required but unreachable")
            pytest.skip("redis unreachable")
        b = create_bus(backends.REDIS_URL, prefix=backends.unique_prefix())
        backends.ran.add("redis streams bus contract")
    try:
        yield b
    finally:
        if hasattr(b, "delete_streams"):
            await b.delete_streams("test-probe", "security")
        await b.close()


async def _take(it: AsyncIterator[Envelope], n: int, timeout: float = 5.0) -> list[Envelope]:
    out: list[Envelope] = []

    async def go() -> None:
        async for env in it:
            out.append(env)
            if len(out) == n:
                return

    await asyncio.wait_for(go(), timeout)
    return out


async def test_given_events_when_published_then_read_back_in_order_with_increasing_ids(bus: Bus) -> None:
    sent = [await bus.publish(_ProbeEvent(n=i, text=f"第{i}条")) for i in range(50)]
    got = await bus.read("test-probe", after=FROM_START)
    assert [e.event for e in got] == [e.event for e in sent]
    assert [e.id for e in got] == [e.id for e in sent]
    ids = [parse_id(e.id) for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert got[3].event.text == "第3条"  # non-ASCII survives the wire


async def test_given_an_id_when_reading_after_it_then_only_later_events(bus: Bus) -> None:
    sent = [await bus.publish(_ProbeEvent(n=i)) for i in range(10)]
    later = await bus.read("test-probe", after=sent[6].id)
    assert [e.event.n for e in later] == [7, 8, 9]
    assert await bus.read("test-probe", after=sent[-1].id) == []
    assert [e.event.n for e in await bus.read("test-probe", after=FROM_START, limit=3)] == [0, 1, 2]
    assert await bus.last_id("test-probe") == sent[-1].id


async def test_given_subscriber_from_now_when_events_arrive_then_it_sees_only_new_ones(bus: Bus) -> None:
    await bus.publish(_ProbeEvent(n=-1))
    it = bus.subscribe("test-probe", after=ONLY_NEW)
    reader = asyncio.create_task(_take(it, 3))
    await asyncio.sleep(0.1)  # subscription established before publishing
    for i in range(3):
        await bus.publish(_ProbeEvent(n=i))
    assert [e.event.n for e in await reader] == [0, 1, 2]


async def test_given_subscriber_that_went_away_when_it_resumes_from_last_id_then_nothing_lost_or_repeated(
    bus: Bus,
) -> None:
    it = bus.subscribe("test-probe", after=FROM_START)
    for i in range(5):
        await bus.publish(_ProbeEvent(n=i))
    first = await _take(it, 3)
    await it.aclose()  # the consumer disconnects after three
    last_seen = first[-1].id
    for i in range(5, 8):  # published while it was away
        await bus.publish(_ProbeEvent(n=i))
    resumed = bus.subscribe("test-probe", after=last_seen)
    rest = await _take(resumed, 5)
    assert [e.event.n for e in first + rest] == list(range(8))
    # and it keeps following live events after the replay
    live = asyncio.create_task(_take(resumed, 1))
    await bus.publish(_ProbeEvent(n=8))
    assert [e.event.n for e in await live] == [8]
    await resumed.aclose()


async def test_given_concurrent_publishers_when_reading_then_each_publishers_order_is_kept(bus: Bus) -> None:
    async def publisher(offset: int) -> None:
        for i in range(40):
            await bus.publish(_ProbeEvent(n=offset + i))

    await asyncio.gather(*(publisher(k * 1000) for k in range(4)))
    got = [e.event.n for e in await bus.read("test-probe", after=FROM_START)]
    assert len(got) == 160
    for k in range(4):
        mine = [n for n in got if k * 1000 <= n < k * 1000 + 1000]
        assert mine == sorted(mine)


async def test_given_two_streams_when_publishing_then_they_do_not_mix(bus: Bus) -> None:
    await bus.publish(_ProbeEvent(n=1))
    await bus.publish(UserLoggedIn(user_id=1, username="a", org_path="/1/", user_ids=(1,)))
    await bus.publish(UserLoggedOut(user_id=1, username="a"))
    assert [type(e.event) for e in await bus.read("security")] == [UserLoggedIn, UserLoggedOut]
    assert [type(e.event) for e in await bus.read("test-probe")] == [_ProbeEvent]


async def test_given_many_subscribers_when_one_event_is_published_then_each_gets_it_once(bus: Bus) -> None:
    its = [bus.subscribe("test-probe", after=ONLY_NEW) for _ in range(5)]
    readers = [asyncio.create_task(_take(it, 2)) for it in its]
    await asyncio.sleep(0.1)
    await bus.publish(_ProbeEvent(n=1))
    await bus.publish(_ProbeEvent(n=2))
    for r in readers:
        assert [e.event.n for e in await r] == [1, 2]


async def test_given_event_metadata_when_round_tripped_then_node_and_time_are_kept(bus: Bus) -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=UTC)
    sent = await bus.publish(UserLoggedIn(user_id=7, username="坐席七", org_path="/1/3/", user_ids=(7,)), node="pbx2", at=at)
    [got] = await bus.read("security", after=FROM_START)
    assert got.id == sent.id and got.node == "pbx2" and got.occurred_at == at
    assert got.event == UserLoggedIn(user_id=7, username="坐席七", org_path="/1/3/", user_ids=(7,))


async def test_given_entry_of_unknown_type_when_reading_then_it_is_skipped_not_fatal(bus: Bus) -> None:
    await bus.publish(_ProbeEvent(n=1))
    raw = '{"type":"from.the.future","v":9,"at":"2026-11-23T00:00:00+00:00","node":null,"data":{}}'
    if hasattr(bus, "_redis"):
        await bus._redis.xadd(bus.key("test-probe"), {b"e": raw.encode()})  # type: ignore[attr-defined]
    else:
        s = bus._stream("test-probe")  # type: ignore[attr-defined]
        s.ids.append((s.ids[-1][0], s.ids[-1][1] + 1))
        s.raw.append(raw)
    await bus.publish(_ProbeEvent(n=2))
    assert [e.event.n for e in await bus.read("test-probe")] == [1, 2]
    it = bus.subscribe("test-probe", after=FROM_START)
    assert [e.event.n for e in await _take(it, 2)] == [1, 2]
    await it.aclose()


async def _append_raw(bus: Bus, stream: str, raws: list[str]) -> None:
    for raw in raws:
        if hasattr(bus, "_redis"):
            await bus._redis.xadd(bus.key(stream), {b"e": raw.encode()})  # type: ignore[attr-defined]
        else:
            s = bus._stream(stream)  # type: ignore[attr-defined]
            s.ids.append(bus._next_id())  # type: ignore[attr-defined]
            s.raw.append(raw)


async def test_given_a_known_type_with_bad_data_or_garbage_when_reading_then_skipped_like_unknown(bus: Bus) -> None:
    first = await bus.publish(_ProbeEvent(n=1))
    await _append_raw(bus, "test-probe", [
        '{"type":"test.probe","v":1,"at":"2026-11-23T00:00:00+00:00","node":null,"data":{"n":"not a number"}}',
        '{"type":"test.probe","v":1,"at":"yesterday","node":null,"data":{"n":3}}',
        "not json at all", '{"type":"test.probe"}', "[]"])
    await bus.publish(_ProbeEvent(n=2))
    assert [e.event.n for e in await bus.read("test-probe", after=first.id)] == [2]
    it = bus.subscribe("test-probe", after=first.id)
    assert [e.event.n for e in await _take(it, 1)] == [2]
    await it.aclose()


async def test_given_a_run_of_unreadable_entries_longer_than_the_limit_when_reading_then_it_reads_past_it(
        bus: Bus) -> None:
    first = await bus.publish(_ProbeEvent(n=1))
    await _append_raw(bus, "test-probe", ["garbage"] * 7)
    await bus.publish(_ProbeEvent(n=2))
    got = await bus.read("test-probe", after=first.id, limit=3)
    assert [e.event.n for e in got] == [2]
    assert await bus.read("test-probe", after=got[-1].id, limit=3) == []


async def test_given_closed_subscription_when_cancelled_then_no_task_leaks(bus: Bus) -> None:
    it = bus.subscribe("test-probe", after=ONLY_NEW)
    task = asyncio.create_task(_take(it, 1, timeout=30))
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await bus.ping()


def test_given_unknown_scheme_when_creating_bus_then_clear_error() -> None:
    with pytest.raises(ValueError, match="memory:// or redis://"):
        create_bus("kafka://somewhere")

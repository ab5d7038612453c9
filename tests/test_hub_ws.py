"""The websocket: token auth, events for this user only, replay after a reconnect, close on logout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import uvicorn
import websockets
from sqlalchemy import select, update
from websockets.exceptions import ConnectionClosed

from backend.app import create_app
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.core.bus import FROM_START
from backend.core.context import AppContext
from backend.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallTransferred,
    CommandResult,
    Event,
    HangupCommand,
    TicketNotice,
)
from backend.hub.ws import Hub, HubConfig
from backend.orgs.scope import Scope
from cti.agents.model import AgentModel
from cti.ami import events as ami
from cti.calls.model import CallModel
from tests.conftest import PASSWORD, Stack


@asynccontextmanager
async def serving(stack: Stack, config: HubConfig | None = None) -> AsyncIterator[str]:
    """One ``serve`` process's worth: an app with its own hub, on loopback, sharing the stack's db and bus."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = stack.ctx.settings.model_copy(update={"ws_token_check_seconds": 0.2})
    ctx = AppContext(settings=settings, db=stack.ctx.db, bus=stack.ctx.bus, clock=stack.ctx.clock)
    app = create_app(ctx, own_context=False)
    app.state.hub = Hub(ctx, config or HubConfig(token_check_seconds=0.2))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def server(stack: Stack) -> AsyncIterator[str]:
    async with serving(stack) as address:
        yield address


async def _login(stack: Stack, username: str) -> str:
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    return r.json()["token"]


async def _next_frame(ws, timeout: float = 5.0) -> dict:  # type: ignore[no-untyped-def]
    """The next event frame (control frames — hello, ping — are skipped, as a console does)."""
    async with asyncio.timeout(timeout):
        while "id" not in (frame := json.loads(await ws.recv())):
            pass
    return frame


async def _hello(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Wait for the hub's hello: from then on the connection receives every live event for it."""
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["type"] == "hello"
    return frame["after"]


async def test_given_no_or_bad_token_when_connecting_then_closed_unauthenticated(stack: Stack, server: str) -> None:
    for url in (f"ws://{server}/ws", f"ws://{server}/ws?token=garbage"):
        with pytest.raises(ConnectionClosed) as exc:
            async with websockets.connect(url) as ws:
                await ws.recv()
        assert exc.value.rcvd.code == 4401


async def test_given_token_when_events_arrive_then_only_the_users_own_are_pushed(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_me", Role.agent, stack.orgs["outlet"])
    other = await stack.add_user("ws_other", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        await asyncio.sleep(0.2)
        await _login(stack, other)  # not for me
        await _login(stack, me)  # my own second login: for me
        frame = await _next_frame(ws)
        assert frame["type"] == "auth.logged_in" and frame["data"]["username"] == me
        assert frame["stream"] == "security" and frame["id"]
        assert "user_ids" not in frame["data"] and "org_path" not in frame["data"]  # routing stays server-side
        with pytest.raises(TimeoutError):
            await _next_frame(ws, timeout=0.3)


async def test_given_client_that_reconnects_with_last_id_then_it_gets_what_it_missed_in_order(
    stack: Stack, server: str
) -> None:
    me = await stack.add_user("ws_resume", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        await asyncio.sleep(0.2)
        await _login(stack, me)
        last_seen = (await _next_frame(ws))["id"]
    missed = [await _login(stack, me) for _ in range(3)]  # while disconnected
    async with websockets.connect(f"ws://{server}/ws?token={missed[-1]}&after_security={last_seen}") as ws:
        frames = [await _next_frame(ws) for _ in range(3)]
        ids = [f["id"] for f in frames]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and last_seen not in ids
        assert all(f["type"] == "auth.logged_in" for f in frames)
        with pytest.raises(TimeoutError):
            await _next_frame(ws, timeout=0.3)  # no duplicates


async def test_given_open_socket_when_user_logs_out_then_the_socket_is_closed(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_logout", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        r = await stack.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 204
        with pytest.raises(ConnectionClosed) as exc:
            for _ in range(10):
                await _next_frame(ws)
        assert exc.value.rcvd.code == 4401


async def test_given_bad_resume_id_when_connecting_then_closed_bad_request(stack: Stack, server: str) -> None:
    token = await _login(stack, stack.users[(Role.agent, "outlet")])
    with pytest.raises(ConnectionClosed) as exc:
        async with websockets.connect(f"ws://{server}/ws?token={token}&after_security=yesterday") as ws:
            await ws.recv()
    assert exc.value.rcvd.code == 4400


async def test_given_session_cookie_when_connecting_then_authenticated_like_a_browser(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_cookie", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws", additional_headers={"Cookie": f"lianluo_token={token}"}) as ws:
        await asyncio.sleep(0.2)
        await _login(stack, me)
        assert (await _next_frame(ws))["data"]["username"] == me


# --- the console's streams: calls, agent states, command results, ticket notices


async def _with_phone(stack: Stack, role: Role, org: str) -> tuple[str, str, int]:
    """A new user of ``org`` with a phone of its own: (username, phone interface, user id)."""
    name = f"hub_{role.value}_{uuid.uuid4().hex[:8]}"
    phone = f"PJSIP/h{uuid.uuid4().hex[:10]}"
    await stack.add_user(name, role, stack.orgs[org])
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(User).where(User.username == name).values(phone_interface=phone))
        user_id = await s.scalar(select(User.id).where(User.username == name))
    return name, phone, user_id


def _call_events(call_id: str, phone: str, queue: str = "complaints") -> list[Event]:
    """An inbound call as the CTI bridge publishes it: IVR, queue, rings the agent, answered, held, resumed."""
    base = {"call_id": call_id, "direction": "inbound", "caller": "13912345678", "dialled": "95500"}
    return [
        CallOffered(**base, origin_channel="PJSIP/trunk-00000001"),
        CallQueued(**base, queue=queue, position=1, ivr={"service": "投诉"}),
        AgentRinging(**base, queue=queue, agent_interface=phone, agent_name="坐席", ivr={"service": "投诉"}),
        CallAnswered(**base, queue=queue, agent_interface=phone, wait_seconds=3.0, ring_seconds=2.0),
        CallHeld(**base, channel=f"{phone}-00000002"),
        CallResumed(**base, channel=f"{phone}-00000002"),
    ]


async def _frames_until_quiet(ws, quiet: float = 0.4) -> list[dict]:  # type: ignore[no-untyped-def]
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(await _next_frame(ws, timeout=quiet))
    return frames


def _ids_in_order(frames: list[dict]) -> bool:
    ids = [tuple(map(int, f["id"].split("-"))) for f in frames]
    return ids == sorted(set(ids))


async def test_given_call_events_on_the_bus_when_consoles_are_connected_then_each_gets_only_what_it_may_see(
        stack: Stack, server: str) -> None:
    me, my_phone, _ = await _with_phone(stack, Role.agent, "outlet")
    colleague, _, _ = await _with_phone(stack, Role.agent, "outlet")
    lead, _, _ = await _with_phone(stack, Role.team_lead, "outlet")
    other_lead, _, _ = await _with_phone(stack, Role.team_lead, "other_branch")
    hq_lead, _, _ = await _with_phone(stack, Role.team_lead, "hq")
    names = (me, colleague, lead, other_lead, hq_lead)
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    queue = f"q-{call_id}"  # a queue no agent serves (other tests' agents may serve "complaints" on pbx1)
    async with contextlib.AsyncExitStack() as sockets:
        ws = {n: await sockets.enter_async_context(websockets.connect(f"ws://{server}/ws?token={await _login(stack, n)}"))
              for n in names}
        for n in names:
            await _hello(ws[n])
        for event in _call_events(call_id, my_phone, queue):
            await stack.ctx.bus.publish(event, node="pbx1")
        await stack.ctx.bus.publish(AgentStateChanged(interface=my_phone, state="on_call", call_id=call_id), node="pbx1")
        got = {n: [f for f in await _frames_until_quiet(ws[n]) if f["stream"] in ("calls", "agents")] for n in names}
    # Each stream is in order; two streams are not ordered with respect to each other.
    got = {n: sorted(frames, key=lambda f: f["stream"] == "agents") for n, frames in got.items()}
    agent_view = ["call.agent_ringing", "call.answered", "call.held", "call.resumed", "agent.state"]
    assert [f["type"] for f in got[me]] == agent_view
    ringing = got[me][0]
    assert ringing["data"]["call_id"] == call_id and ringing["data"]["ivr"] == {"service": "投诉"}
    assert ringing["node"] == "pbx1" and "org_path" not in ringing["data"]
    assert got[colleague] == [] and got[other_lead] == []  # a colleague's call; another branch's call
    assert [f["type"] for f in got[lead]] == agent_view  # the outlet's team lead watches its agents
    # the head office's supervisor also sees the part no agent had taken yet (offered, queued)
    assert [f["type"] for f in got[hq_lead]] == ["call.offered", "call.queued", *agent_view]
    # The caller's number in clear only to the agent whose phone rang; every supervisor sees it masked.
    calls = {n: [f for f in got[n] if f["stream"] == "calls"] for n in names}
    assert {(f["data"]["caller"], f["data"]["dialled"]) for f in calls[me]} == {("13912345678", "95500")}
    for supervisor in (lead, hq_lead):
        assert {(f["data"]["caller"], f["data"]["dialled"]) for f in calls[supervisor]} == {("139****5678", "*5500")}


async def test_given_a_central_team_lead_whose_outlet_agent_serves_a_queue_when_callers_join_it_then_every_serve_pushes_them(
        stack: Stack) -> None:
    central = stack.orgs["central"]
    assert central.name == "朝阳中心支公司" and stack.orgs["outlet"].path.startswith(central.path)
    _, phone, _ = await _with_phone(stack, Role.agent, "outlet")
    lead, _, _ = await _with_phone(stack, Role.team_lead, "central")
    other_lead, _, _ = await _with_phone(stack, Role.team_lead, "other_branch")
    node = f"pbx-{uuid.uuid4().hex[:8]}"  # the queues of a node of its own: nothing of other tests in them
    calls, agents = CallModel(), AgentModel()
    at = datetime.now(UTC)

    def caller(uniqueid: str, queue: str) -> list[Event]:
        channel = {"channel": f"PJSIP/operator-{uniqueid}", "uniqueid": uniqueid, "linkedid": uniqueid}
        return (calls.handle(ami.Newchannel(**channel, caller_num="13912345678", exten="4008001234"), at)
                + calls.handle(ami.QueueCallerJoin(**channel, queue=queue, position=1, count=1), at)
                + calls.handle(ami.QueueCallerAbandon(**channel, queue=queue, position=1, hold_time=9), at))

    # Two serve processes on one bus: each learns the queue's members from the bus by itself.
    async with serving(stack) as first, serving(stack) as second, contextlib.AsyncExitStack() as sockets:
        async def connect(address: str, name: str):  # type: ignore[no-untyped-def]
            ws = await sockets.enter_async_context(websockets.connect(f"ws://{address}/ws?token={await _login(stack, name)}"))
            await _hello(ws)
            return ws

        mine = [await connect(first, lead), await connect(second, lead)]
        theirs = await connect(second, other_lead)
        for event in agents.handle(ami.QueueMemberAdded(queue="complaints", interface=phone, status=1)):
            await stack.ctx.bus.publish(event, node=node)
        for ws in mine:  # the lead sees its agent log in: that process knows the membership from now on
            while (frame := await _next_frame(ws))["stream"] != "agents":
                pass
            assert frame["data"]["interface"] == phone and frame["data"]["queues"] == ["complaints"]
        joined = caller(f"{uuid.uuid4().hex[:6]}.1", "complaints")
        for event in joined + caller(f"{uuid.uuid4().hex[:6]}.2", "claims"):
            await stack.ctx.bus.publish(event, node=node)
        got = [[(f["type"], f["data"]["call_id"]) for f in await _frames_until_quiet(ws) if f["stream"] == "calls"]
               for ws in mine]
        assert got == [[("call.queued", joined[0].call_id), ("call.abandoned", joined[0].call_id)]] * 2
        assert not [f for f in await _frames_until_quiet(theirs) if f["stream"] in ("calls", "agents")]


async def test_given_a_token_of_another_org_when_it_asks_for_a_calls_history_then_it_gets_none_of_it(
        stack: Stack, server: str) -> None:
    _, my_phone, _ = await _with_phone(stack, Role.agent, "outlet")
    intruder, _, _ = await _with_phone(stack, Role.team_lead, "other_branch")
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    start = await stack.ctx.bus.last_id("calls") or "0-0"
    for event in _call_events(call_id, my_phone):
        await stack.ctx.bus.publish(event)
    url = f"ws://{server}/ws?token={await _login(stack, intruder)}&after_calls={start}&after_agents={start}"
    async with websockets.connect(url) as ws:
        await _hello(ws)
        frames = await _frames_until_quiet(ws)
    assert not [f for f in frames if f["stream"] == "calls" and f["data"].get("call_id") == call_id]


async def test_given_a_websocket_cut_during_a_call_when_the_client_reconnects_then_it_has_every_missed_event_once(
        stack: Stack) -> None:
    # Two serve processes on the same bus: the client reconnects to the other one, as behind a load balancer.
    me, my_phone, _ = await _with_phone(stack, Role.agent, "outlet")
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    offered, queued, ringing, answered, held, resumed = _call_events(call_id, my_phone)
    base = {"call_id": call_id, "direction": "inbound", "caller": "13912345678"}
    async with serving(stack) as first, serving(stack) as second:
        async with websockets.connect(f"ws://{first}/ws?token={await _login(stack, me)}") as ws:
            cursors = await _hello(ws)
            for event in (offered, queued, ringing, answered):
                await stack.ctx.bus.publish(event)
            seen = [await _next_frame(ws), await _next_frame(ws)]
        assert [f["type"] for f in seen] == ["call.agent_ringing", "call.answered"]
        cursors["calls"] = seen[-1]["id"]
        # While the link is down: the call goes on.
        missed = [held, AgentStateChanged(interface=my_phone, state="on_call", call_id=call_id), resumed,
                  CallTransferred(**base, kind="blind", target="claims"),
                  CallEnded(**base, answered=True, agent_interface=my_phone, duration_seconds=40.0, talk_seconds=30.0)]
        for event in missed:
            await stack.ctx.bus.publish(event)
        query = "&".join(f"after_{s}={i}" for s, i in cursors.items())
        async with websockets.connect(f"ws://{second}/ws?token={await _login(stack, me)}&{query}") as ws:
            await _hello(ws)
            live = AgentStateChanged(interface=my_phone, state="not_ready", reason="话后处理")
            await stack.ctx.bus.publish(live)
            frames = [f for f in await _frames_until_quiet(ws) if f["stream"] in ("calls", "agents")]
    calls = [f for f in frames if f["stream"] == "calls"]
    agents = [f for f in frames if f["stream"] == "agents"]
    assert [f["type"] for f in calls] == ["call.held", "call.resumed", "call.transferred", "call.ended"]
    assert {f["data"]["caller"] for f in calls} == {"13912345678"}  # the replay, too, in clear for the call's agent
    assert [(f["data"]["state"], f["data"]["reason"]) for f in agents] == [("on_call", None), ("not_ready", "话后处理")]
    assert _ids_in_order(calls) and _ids_in_order(agents)  # in order, each once
    assert seen[-1]["id"] not in {f["id"] for f in frames}


async def test_given_my_command_when_the_pbx_answers_then_only_i_get_the_result(stack: Stack, server: str) -> None:
    me, _, my_id = await _with_phone(stack, Role.agent, "outlet")
    colleague, _, _ = await _with_phone(stack, Role.agent, "outlet")
    async with websockets.connect(f"ws://{server}/ws?token={await _login(stack, me)}") as mine, \
            websockets.connect(f"ws://{server}/ws?token={await _login(stack, colleague)}") as theirs:
        await _hello(mine)
        await _hello(theirs)
        command_id = uuid.uuid4().hex
        await stack.ctx.bus.publish(HangupCommand(command_id=command_id, node="pbx1", requested_by=my_id, call_id="c1"))
        await stack.ctx.bus.publish(CommandResult(command_id=command_id, ok=False, error="No such channel"))
        frames = [f for f in await _frames_until_quiet(mine) if f["stream"] == "commands"]
        assert [(f["type"], f["data"]["command_id"], f["data"]["error"]) for f in frames] == [
            ("command.result", command_id, "No such channel")]
        assert not [f for f in await _frames_until_quiet(theirs) if f["stream"] == "commands"]


async def test_given_a_ticket_notice_for_an_org_when_published_then_its_subtree_gets_it_and_others_do_not(
        stack: Stack, server: str) -> None:
    outlet_agent, _, _ = await _with_phone(stack, Role.agent, "outlet")
    other_agent, _, _ = await _with_phone(stack, Role.agent, "other_outlet")
    async with websockets.connect(f"ws://{server}/ws?token={await _login(stack, outlet_agent)}") as mine, \
            websockets.connect(f"ws://{server}/ws?token={await _login(stack, other_agent)}") as theirs:
        await _hello(mine)
        await _hello(theirs)
        number = f"TS-{uuid.uuid4().hex[:6]}"
        await stack.ctx.bus.publish(TicketNotice(org_path=stack.orgs["outlet"].path, kind="assigned", ticket_id=1,
                                                 ticket_number=number, message="新投诉待处理"))
        frame = await _next_frame(mine)
        assert frame["type"] == "ticket.notice" and frame["data"]["ticket_number"] == number
        assert not [f for f in await _frames_until_quiet(theirs) if f["stream"] == "tickets"]


async def test_given_heartbeats_when_a_client_stops_answering_then_it_is_closed_and_one_that_answers_stays(
        stack: Stack) -> None:
    async with serving(stack, HubConfig(ping_seconds=0.2, token_check_seconds=30)) as address:
        token = await _login(stack, stack.users[(Role.agent, "outlet")])
        async with websockets.connect(f"ws://{address}/ws?token={token}") as silent, \
                websockets.connect(f"ws://{address}/ws?token={token}") as alive:
            await _hello(silent)
            await _hello(alive)

            async def answer() -> int:
                pings = 0
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.2):
                        while True:
                            if json.loads(await alive.recv()).get("type") == "ping":
                                pings += 1
                                await alive.send(json.dumps({"type": "pong"}))
                return pings

            pings = await answer()
            assert pings >= 3
            with pytest.raises(ConnectionClosed) as exc:
                async with asyncio.timeout(2):
                    while True:
                        await silent.recv()
            assert exc.value.rcvd.code == 4408
            await alive.send(json.dumps({"type": "pong"}))
            assert json.loads(await asyncio.wait_for(alive.recv(), 1))["type"] == "ping"  # still open


async def test_given_a_team_lead_resuming_after_a_blip_when_calls_are_replayed_then_their_numbers_are_masked(
        stack: Stack, server: str) -> None:
    _, phone, _ = await _with_phone(stack, Role.agent, "outlet")
    lead, _, _ = await _with_phone(stack, Role.team_lead, "outlet")
    before = await stack.ctx.bus.last_id("calls") or FROM_START
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    for event in _call_events(call_id, phone, f"q-{call_id}"):
        await stack.ctx.bus.publish(event, node="pbx1")
    async with websockets.connect(f"ws://{server}/ws?token={await _login(stack, lead)}&after_calls={before}") as ws:
        await _hello(ws)
        replayed = [f for f in await _frames_until_quiet(ws)
                    if f["stream"] == "calls" and f["data"]["call_id"] == call_id]
    assert {"call.agent_ringing", "call.answered", "call.held", "call.resumed"} <= {f["type"] for f in replayed}
    assert {f["data"]["caller"] for f in replayed} == {"139****5678"}


async def test_given_a_shared_queue_when_another_orgs_agent_answers_then_a_lead_there_learns_the_queue_moved_not_who(
        stack: Stack, server: str) -> None:
    _, mine, _ = await _with_phone(stack, Role.agent, "outlet")
    _, theirs, _ = await _with_phone(stack, Role.agent, "other_outlet")
    lead, _, _ = await _with_phone(stack, Role.team_lead, "central")  # above the outlet's agent
    other_lead, _, _ = await _with_phone(stack, Role.team_lead, "other_branch")  # above the other agent only
    node, queue = f"pbx-{uuid.uuid4().hex[:8]}", f"shared-{uuid.uuid4().hex[:6]}"
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    base = {"call_id": call_id, "direction": "inbound", "caller": "13912345678", "queue": queue}
    async with contextlib.AsyncExitStack() as sockets:
        ws = {n: await sockets.enter_async_context(websockets.connect(f"ws://{server}/ws?token={await _login(stack, n)}"))
              for n in (lead, other_lead)}
        for socket in ws.values():
            await _hello(socket)
        for phone in (mine, theirs):
            await stack.ctx.bus.publish(AgentStateChanged(interface=phone, state="ready", queues=(queue,)), node=node)
        for socket in ws.values():  # each lead sees its own agent sign in: the membership is known from then on
            while (await _next_frame(socket))["stream"] != "agents":
                pass
        await stack.ctx.bus.publish(CallQueued(**base, position=1), node=node)
        await stack.ctx.bus.publish(CallAnswered(**base, agent_interface=mine, agent_name="望京坐席", wait_seconds=3.0),
                                    node=node)
        got = {n: {f["type"]: f["data"] for f in await _frames_until_quiet(socket) if f["stream"] == "calls"}
               for n, socket in ws.items()}
    assert got[lead]["call.answered"]["agent_interface"] == mine  # their own agent: named
    assert got[lead]["call.answered"]["agent_name"] == "望京坐席"
    seen = got[other_lead]["call.answered"]
    assert (seen["queue"], seen["agent_interface"], seen["agent_name"]) == (queue, None, None)
    assert {d["caller"] for n in got for d in got[n].values()} == {"139****5678"}

"""The hub's audience rule: which console connections an event reaches (backend/hub/audience.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from backend.auth.models import User
from backend.auth.permissions import Role
from backend.core.bus.memory import MemoryBus
from backend.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallHeld,
    CallOffered,
    CallQueued,
    CommandResult,
    Envelope,
    Event,
    HangupCommand,
    OriginateResult,
    TicketNotice,
    UserLoggedIn,
)
from backend.hub.audience import Audience, Owner, Router, Viewer
from backend.hub.directory import AgentDirectory
from backend.hub.fanout import Connections, Fanout, Subscriber
from backend.hub.tracking import CallAgents, interface_of_channel
from backend.orgs.scope import Scope
from cti.agents.model import AgentModel
from cti.ami import events as ami
from cti.calls.model import CallModel
from tests.conftest import Stack

ROOT, BRANCH, OUTLET, SIBLING, OTHER_BRANCH = "/1/", "/1/2/", "/1/2/5/", "/1/2/6/", "/1/3/"
PHONES = {"PJSIP/1001": Owner(11, OUTLET), "PJSIP/1002": Owner(12, OUTLET), "PJSIP/2001": Owner(21, OTHER_BRANCH)}

ME = Viewer(11, Scope.subtree(OUTLET), supervises=False)
COLLEAGUE = Viewer(12, Scope.subtree(OUTLET), supervises=False)
OUTLET_LEAD = Viewer(31, Scope.subtree(OUTLET), supervises=True)
SIBLING_LEAD = Viewer(32, Scope.subtree(SIBLING), supervises=True)
BRANCH_SUPERVISOR = Viewer(33, Scope.subtree(BRANCH), supervises=True)
OTHER_BRANCH_SUPERVISOR = Viewer(34, Scope.subtree(OTHER_BRANCH), supervises=True)
ROOT_SUPERVISOR = Viewer(35, Scope.subtree(ROOT), supervises=True)
ROOT_AGENT = Viewer(36, Scope.subtree(ROOT), supervises=False)
EVERYONE = (ME, COLLEAGUE, OUTLET_LEAD, SIBLING_LEAD, BRANCH_SUPERVISOR, OTHER_BRANCH_SUPERVISOR, ROOT_SUPERVISOR,
            ROOT_AGENT)


class Phones:
    def __init__(self, unanswered: str = ROOT) -> None:
        self.unanswered = unanswered

    async def owner(self, interface: str) -> Owner | None:
        return PHONES.get(interface)

    async def owners(self, interfaces: Iterable[str]) -> list[Owner]:
        return [PHONES[i] for i in interfaces if i in PHONES]

    async def unanswered_path(self) -> str:
        return self.unanswered


_seq = iter(range(1, 1_000_000))


def _env(event: Event, node: str | None = None) -> Envelope:
    return Envelope(f"1700000000000-{next(_seq)}", event.stream, event, datetime(2026, 11, 23, tzinfo=UTC), node)


async def _who(router: Router, event: Event, node: str | None = None) -> set[int]:
    audience = await router.audience(_env(event, node))
    return {v.user_id for v in EVERYONE if audience.admits(v)}


def _ringing(call_id: str, phone: str) -> AgentRinging:
    return AgentRinging(call_id=call_id, direction="inbound", caller="13912345678", queue="complaints",
                        agent_interface=phone)


async def test_given_a_call_ringing_my_phone_when_routed_then_i_and_my_supervisors_get_it_not_a_colleague() -> None:
    who = await _who(Router(Phones()), _ringing("c1", "PJSIP/1001"))
    assert who == {ME.user_id, OUTLET_LEAD.user_id, BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}


async def test_given_a_call_in_another_branch_when_routed_then_this_branchs_people_get_nothing() -> None:
    who = await _who(Router(Phones()), _ringing("c2", "PJSIP/2001"))
    assert who == {OTHER_BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}


async def test_given_a_call_that_rang_me_when_later_events_name_no_phone_then_they_still_reach_me() -> None:
    router = Router(Phones())
    assert ME.user_id not in await _who(router, CallQueued(call_id="c3", direction="inbound", queue="complaints"))
    await _who(router, _ringing("c3", "PJSIP/1001"))
    held = await _who(router, CallHeld(call_id="c3", direction="inbound", channel="PJSIP/1001-00000002"))
    assert held == {ME.user_id, OUTLET_LEAD.user_id, BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}
    assert COLLEAGUE.user_id not in held


async def test_given_a_call_rung_at_two_agents_when_answered_then_both_get_the_answer() -> None:
    router = Router(Phones())
    await _who(router, _ringing("c4", "PJSIP/1001"))
    await _who(router, _ringing("c4", "PJSIP/1002"))
    who = await _who(router, CallAnswered(call_id="c4", direction="inbound", agent_interface="PJSIP/1002"))
    assert {ME.user_id, COLLEAGUE.user_id} <= who and SIBLING_LEAD.user_id not in who


async def test_given_calls_no_agent_took_when_routed_then_only_supervisors_of_the_cti_org_get_them() -> None:
    for event in (CallOffered(call_id="c5", direction="inbound", origin_channel="PJSIP/trunk-00000001"),
                  CallQueued(call_id="c5", direction="inbound", queue="claims"),
                  CallAbandoned(call_id="c5", direction="inbound", queue="claims", wait_seconds=31.0)):
        assert await _who(Router(Phones()), event) == {ROOT_SUPERVISOR.user_id}
    # With cti_org_code set to a branch, that branch's supervisors (and above) see them instead.
    branch = await _who(Router(Phones(unanswered=BRANCH)), CallQueued(call_id="c6", direction="inbound", queue="x"))
    assert branch == {BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}


async def test_given_a_phone_of_no_user_when_it_rings_then_it_is_routed_like_an_unanswered_call() -> None:
    assert await _who(Router(Phones()), _ringing("c7", "PJSIP/9999")) == {ROOT_SUPERVISOR.user_id}


async def test_given_agent_state_changes_when_routed_then_the_agent_and_their_supervisors_get_them() -> None:
    event = AgentStateChanged(interface="PJSIP/1002", state="not_ready", reason="小休")
    who = await _who(Router(Phones()), event)
    assert who == {COLLEAGUE.user_id, OUTLET_LEAD.user_id, BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}


async def test_given_my_click_to_call_when_routed_then_the_call_and_the_command_results_are_mine() -> None:
    router = Router(Phones())
    command = HangupCommand(command_id="cmd1", node="pbx1", requested_by=ME.user_id, call_id="c8")
    assert await _who(router, command) == set()  # commands are not console frames
    assert await _who(router, CommandResult(command_id="cmd1", ok=True)) == {ME.user_id}
    assert await _who(router, CommandResult(command_id="someone-elses", ok=True)) == set()
    assert await _who(router, OriginateResult(command_id="cmd1", success=True, reason_text="answered")) == {ME.user_id}
    offered = CallOffered(call_id="c9", direction="outbound", origin_channel="PJSIP/1001-0000002a", command_id="cmd9")
    assert ME.user_id in await _who(router, offered) and COLLEAGUE.user_id not in await _who(router, offered)


async def test_given_ticket_notices_and_logins_when_routed_then_their_own_audience_decides() -> None:
    router = Router(Phones())
    to_outlet = TicketNotice(org_path=OUTLET, kind="assigned", ticket_id=1, ticket_number="TS-1", message="新工单")
    assert await _who(router, to_outlet) == {v.user_id for v in EVERYONE if v.scope.path in (OUTLET, BRANCH, ROOT)}
    to_me = TicketNotice(user_ids=(ME.user_id,), org_path=OUTLET, kind="urged", ticket_id=1, ticket_number="TS-1",
                         message="催办")
    assert await _who(router, to_me) == {ME.user_id}
    assert await _who(router, UserLoggedIn(user_ids=(12,), user_id=12, username="x")) == {COLLEAGUE.user_id}


# --- queue events: a queue is shared by the orgs whose agents serve it

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _member(agents: AgentModel, interface: str, queue: str, *, added: bool = True) -> list[Event]:
    """The ``agent.state`` the CTI bridge publishes when a phone is added to (or removed from) a queue."""
    kind = ami.QueueMemberAdded if added else ami.QueueMemberRemoved
    return agents.handle(kind(queue=queue, interface=interface, member_name=interface, status=1))


def _caller(calls: CallModel, uniqueid: str, queue: str, *, abandons: bool = False) -> list[Event]:
    """What the CTI bridge publishes for a trunk call that joins ``queue`` (QueueCallerJoin), and maybe abandons."""
    channel = {"channel": f"PJSIP/operator-{uniqueid}", "uniqueid": uniqueid, "linkedid": uniqueid}
    out = calls.handle(ami.Newchannel(**channel, caller_num="13912345678", exten="4008001234"), AT)
    out += calls.handle(ami.QueueCallerJoin(**channel, queue=queue, position=1, count=1), AT)
    if abandons:
        out += calls.handle(ami.QueueCallerAbandon(**channel, queue=queue, position=1, hold_time=12), AT)
    return out


async def _routed(router: Router, events: list[Event], node: str = "pbx1") -> dict[str, set[int]]:
    return {e.type: await _who(router, e, node) for e in events}


async def test_given_my_agent_serves_a_queue_when_a_caller_joins_it_then_i_as_their_lead_get_it_and_no_other_branch(
) -> None:
    router, agents, calls = Router(Phones()), AgentModel(), CallModel()
    await _routed(router, _member(agents, "PJSIP/1001", "complaints") + _member(agents, "PJSIP/2001", "claims"))
    complaints = await _routed(router, _caller(calls, "1700000001.1", "complaints", abandons=True))
    assert complaints["call.offered"] == {ROOT_SUPERVISOR.user_id}  # not in a queue yet: the CTI org's, as before
    leads = {OUTLET_LEAD.user_id, BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}
    assert complaints["call.queued"] == leads and complaints["call.abandoned"] == leads
    # a queue none of the outlet's agents serve: the other branch's, not ours; agents never get queue events
    claims = await _routed(router, _caller(calls, "1700000001.2", "claims"))
    assert claims["call.queued"] == {OTHER_BRANCH_SUPERVISOR.user_id, ROOT_SUPERVISOR.user_id}


async def test_given_a_queues_agent_logs_out_or_serves_it_on_another_node_then_their_lead_gets_its_calls_no_more(
) -> None:
    router, agents, calls = Router(Phones()), AgentModel(), CallModel()
    joined = _env(_member(agents, "PJSIP/1001", "complaints")[0], "pbx1")
    await router.audience(joined)
    await _routed(router, _member(agents, "PJSIP/1001", "complaints", added=False))
    assert await _routed(router, _caller(calls, "1700000002.1", "complaints")) == {
        "call.offered": {ROOT_SUPERVISOR.user_id}, "call.queued": {ROOT_SUPERVISOR.user_id}}
    await router.audience(joined)  # replayed later (a warm-up, a client's resume): older than the log-out
    assert OUTLET_LEAD.user_id not in (await _routed(router, _caller(calls, "1700000002.2", "complaints")))["call.queued"]
    # the same queue name on another PBX node is another queue
    await _routed(router, _member(AgentModel(), "PJSIP/1001", "complaints"), node="pbx2")
    assert OUTLET_LEAD.user_id not in (await _routed(router, _caller(calls, "1700000002.3", "complaints")))["call.queued"]


async def test_given_a_call_another_branchs_agent_takes_when_routed_then_queue_leads_see_it_leave_not_ring() -> None:
    router, agents = Router(Phones()), AgentModel()
    await _routed(router, _member(agents, "PJSIP/1001", "complaints") + _member(agents, "PJSIP/2001", "complaints"))
    ringing = AgentRinging(call_id="c20", direction="inbound", queue="complaints", agent_interface="PJSIP/2001")
    answered = CallAnswered(call_id="c20", direction="inbound", queue="complaints", agent_interface="PJSIP/2001")
    held = CallHeld(call_id="c20", direction="inbound", channel="PJSIP/2001-00000009")
    who = await _routed(router, [ringing, answered, held])
    assert OUTLET_LEAD.user_id not in who["call.agent_ringing"] | who["call.held"]  # another branch's agent's call
    assert OUTLET_LEAD.user_id in who["call.answered"]  # but it no longer waits in the outlet's queue
    assert ME.user_id not in who["call.answered"]


async def test_given_memberships_on_the_bus_when_a_hub_starts_following_then_it_reads_them_back() -> None:
    bus = MemoryBus()
    for event in _member(AgentModel(), "PJSIP/1001", "complaints"):
        await bus.publish(event, node="pbx1")
    router = Router(Phones())
    fanout = Fanout(bus, router, ("calls", "agents"))
    try:
        sub = await fanout.attach(OUTLET_LEAD)
        async with asyncio.timeout(5):
            while not router.members.of("pbx1", "complaints"):
                await asyncio.sleep(0.01)
        for event in _caller(CallModel(), "1700000003.1", "complaints"):
            await bus.publish(event, node="pbx1")
        async with asyncio.timeout(5):
            delivery = await sub.queue.get()
        assert delivery is not None and delivery.envelope.event.type == "call.queued"
    finally:
        await fanout.close()
        await bus.close()


PATHS = (ROOT, BRANCH, OUTLET, SIBLING, OTHER_BRANCH)
SCOPES = st.sampled_from([Scope.everything(), *(Scope.subtree(p) for p in PATHS)])


@given(viewers=st.lists(st.builds(Viewer, st.integers(1, 6), SCOPES, st.booleans()), max_size=12),
       audience=st.builds(Audience, st.frozensets(st.integers(1, 6)), st.frozensets(st.sampled_from(PATHS)),
                          st.none() | st.sampled_from(PATHS)))
def test_given_any_consoles_and_audience_when_looked_up_in_the_index_then_exactly_the_admitted_are_found(
        viewers: list[Viewer], audience: Audience) -> None:
    connections, subscribers = Connections(), [Subscriber(v, 10) for v in viewers]
    for sub in subscribers:
        connections.add(sub)
    for sub in subscribers[::3]:  # consoles that went away
        connections.discard(sub)
    staying = [s for i, s in enumerate(subscribers) if i % 3]
    assert connections.admitted(audience) == {s for s in staying if audience.admits(s.viewer)}
    assert len(connections) == len(staying)


def test_given_many_calls_when_the_tracker_is_full_then_the_oldest_are_forgotten() -> None:
    calls = CallAgents(capacity=2)
    for n in range(3):
        calls.observe(_ringing(f"k{n}", "PJSIP/1001"))
    assert calls.of("k0") == frozenset() and calls.of("k2") == {"PJSIP/1001"}
    assert interface_of_channel("PJSIP/1001-0000002a") == "PJSIP/1001"
    assert interface_of_channel("SIP/agent-7-00000001") == "SIP/agent-7"


async def test_given_a_phone_assigned_after_the_directory_loaded_when_it_rings_then_the_miss_finds_it(
        stack: Stack) -> None:
    names = [f"hub_dir_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    phones = [f"PJSIP/hub{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        await stack.add_user(name, Role.agent, stack.orgs["outlet"])
    directory = AgentDirectory(stack.ctx.db, "", refresh_seconds=3600)
    assert await directory.unanswered_path() == stack.orgs["hq"].path  # loaded: neither phone is assigned yet
    assert await directory.owner(phones[1]) is None
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        for name, phone in zip(names, phones, strict=True):
            await s.execute(update(User).where(User.username == name).values(phone_interface=phone))
    owner = await directory.owner(phones[0])  # not in the loaded table: looked up alone
    assert owner is not None and owner.org_path == stack.orgs["outlet"].path
    assert await directory.owner(phones[1]) is None  # a miss is remembered until the next load
    assert await directory.owners([phones[1], phones[0], "PJSIP/nobody"]) == [owner]
    reloaded = AgentDirectory(stack.ctx.db, stack.orgs["branch"].code, refresh_seconds=0)
    assert await reloaded.owner(phones[1]) is not None
    assert await reloaded.unanswered_path() == stack.orgs["branch"].path

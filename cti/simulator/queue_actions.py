"""AMI actions of app_queue: status lists, pause, and dynamic membership, with app_queue's own messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.simulator.queues import Member
from cti.simulator.wire import Fields

if TYPE_CHECKING:
    from cti.simulator.ami_server import AmiConnection, Headers


def _true(value: str | None) -> bool:
    """Asterisk's ast_true."""
    return (value or "").lower() in ("yes", "true", "y", "t", "1", "on")


async def queue_status(conn: AmiConnection, h: Headers) -> None:
    action_id, wanted = h.get("ActionID") or "", h.get("Queue")
    items: list[Fields] = []
    for q in conn.sim.queues.queues.values():
        if wanted and q.name != wanted:
            continue
        items.append([("Event", "QueueParams"), ("Queue", q.name), ("Max", "0"), ("Strategy", q.spec.strategy),
                      ("Calls", str(len(q.callers))), ("Holdtime", str(int(q.holdtime))),
                      ("TalkTime", str(int(q.talktime))), ("Completed", str(q.completed)),
                      ("Abandoned", str(q.abandoned)), ("ServiceLevel", "0"), ("ServicelevelPerf", "0.0"),
                      ("ServicelevelPerf2", "0.0"), ("Weight", "0"), ("ActionID", action_id)])
        for m in q.members.values():
            items.append([("Event", "QueueMember"), *m.list_fields(q.name), ("ActionID", action_id)])
    conn.reply_list(h, "Queue status will follow", items, "QueueStatusComplete")


async def queue_summary(conn: AmiConnection, h: Headers) -> None:
    action_id, wanted = h.get("ActionID") or "", h.get("Queue")
    items: list[Fields] = []
    for q in conn.sim.queues.queues.values():
        if wanted and q.name != wanted:
            continue
        available = sum(1 for m in q.members.values() if not m.paused and not m.busy)
        items.append([("Event", "QueueSummary"), ("Queue", q.name), ("LoggedIn", str(len(q.members))),
                      ("Available", str(available)), ("Callers", str(len(q.callers))),
                      ("HoldTime", str(int(q.holdtime))), ("TalkTime", str(int(q.talktime))),
                      ("LongestHoldTime", "0"), ("ActionID", action_id)])
    conn.reply_list(h, "Queue summary will follow", items, "QueueSummaryComplete")


async def queue_pause(conn: AmiConnection, h: Headers) -> None:
    interface, paused_s = h.get("Interface"), h.get("Paused")
    if not interface or not paused_s:
        conn.reply(h, "Error", ("Message", "Need 'Interface' and 'Paused' parameters."))
        return
    paused = _true(paused_s)
    if not conn.sim.queues.pause(interface, paused, h.get("Reason") or "", h.get("Queue")):
        conn.reply(h, "Error", ("Message", "Interface not found"))
        return
    conn.reply(h, "Success", ("Message", f"Interface {'paused' if paused else 'unpaused'} successfully"))


async def queue_add(conn: AmiConnection, h: Headers) -> None:
    queues, now = conn.sim.queues, int(conn.sim.clock.now())
    name, interface = h.get("Queue"), h.get("Interface")
    if not name:
        conn.reply(h, "Error", ("Message", "'Queue' not specified."))
        return
    if not interface:
        conn.reply(h, "Error", ("Message", "'Interface' not specified."))
        return
    q = queues.queues.get(name)
    if q is None:
        conn.reply(h, "Error", ("Message", "Unable to add interface to queue: No such queue"))
        return
    if interface in q.members:
        conn.reply(h, "Error", ("Message", "Unable to add interface: Already there"))
        return
    paused = _true(h.get("Paused"))
    penalty = h.get("Penalty") or "0"
    m = Member(interface, h.get("MemberName") or interface, queues.agent_spec(interface), membership="dynamic",
               penalty=max(0, int(penalty)) if penalty.isdigit() else 0, paused=paused,
               last_pause=now if paused else 0, login_time=now, state_interface=h.get("StateInterface") or "")
    q.members[interface] = m
    conn.reply(h, "Success", ("Message", "Added interface to queue"))
    queues.member_event("QueueMemberAdded", q, m)


async def queue_remove(conn: AmiConnection, h: Headers) -> None:
    queues = conn.sim.queues
    name, interface = h.get("Queue"), h.get("Interface")
    if not name or not interface:
        conn.reply(h, "Error", ("Message", "Need 'Queue' and 'Interface' parameters."))
        return
    q = queues.queues.get(name)
    if q is None:
        conn.reply(h, "Error", ("Message", "Unable to remove interface from queue: No such queue"))
        return
    m = q.members.get(interface)
    if m is None:
        conn.reply(h, "Error", ("Message", "Unable to remove interface: Not there"))
        return
    if m.membership != "dynamic":  # queues.conf members stay until queues.conf says otherwise
        conn.reply(h, "Error", ("Message", "Member not dynamic"))
        return
    del q.members[interface]
    conn.reply(h, "Success", ("Message", "Removed interface from queue"))
    queues.member_event("QueueMemberRemoved", q, m)


HANDLERS = {"queuestatus": queue_status, "queuesummary": queue_summary, "queuepause": queue_pause,
            "queueadd": queue_add, "queueremove": queue_remove}

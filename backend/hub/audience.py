"""Who receives what: the one rule deciding which console connections get a bus event.

- Events that name their audience (security, tickets: ``Event.user_ids`` / ``Event.org_path``) go
  where ``Event.is_for`` says: the named users, or everyone whose org scope contains ``org_path``.
- CTI events name phones, not users. Each phone interface is mapped to its user (``User.phone_interface``)
  and that user's org. An agent receives the events of the calls that rang or were answered by their
  own phone, and their own agent-state changes; users who supervise (``agent.supervise`` or
  ``call.read``) receive those of every agent in their org subtree. Calls no agent took (offered,
  queued, abandoned), and phones that belong to no user, go to the supervisors of the subtree of
  ``cti_org_code`` (the root by default).
- A queue is shared by the orgs whose agents serve it: the events by which a call joins or leaves a queue
  (queued; answered, abandoned, or ended unanswered — ``tracking.queue_moved``) also go to every supervisor
  whose subtree holds a member of that queue on that node. Membership is the latest ``agent.state`` of
  each phone on the ``agents`` stream (its ``queues``), so every ``serve`` process learns it from the bus.
- A command's result goes to the user who sent the command (``CtiCommand.requested_by``); the
  commands themselves are not console frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.events import (
    AgentStateChanged,
    CallEvent,
    CommandResult,
    CtiCommand,
    Envelope,
    Event,
    OriginateResult,
)
from backend.hub.tracking import CallAgents, CommandOwners, QueueMembers, queue_moved
from backend.orgs.scope import Scope


@dataclass(frozen=True)
class Owner:
    """The user a phone interface belongs to, and that user's org (by path)."""

    user_id: int
    org_path: str


@dataclass(frozen=True)
class Viewer:
    """What routing needs to know about a connected user."""

    user_id: int
    scope: Scope
    supervises: bool  # sees the calls and states of the agents of its subtree

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(principal.user_id, principal.scope,
                   principal.can(Permission.agent_supervise) or principal.can(Permission.call_read))


@dataclass(frozen=True)
class Audience:
    """Whom one event is for: named users; supervisors whose subtree holds one of ``supervised_paths``;
    everyone whose subtree holds ``org_path``."""

    user_ids: frozenset[int] = frozenset()
    supervised_paths: frozenset[str] = frozenset()
    org_path: str | None = None
    # Supervisors told only because an agent of theirs serves the call's queue: they learn that the queue's
    # figures moved, not who of another org took the call (see ``sees_whole``).
    queue_paths: frozenset[str] = frozenset()

    def admits(self, viewer: Viewer) -> bool:
        return self.sees_whole(viewer) or (
            viewer.supervises and any(viewer.scope.contains_path(p) for p in self.queue_paths))

    def sees_whole(self, viewer: Viewer) -> bool:
        """Admitted for the event itself (its user, the supervisors of its agents, its org), not only for a queue."""
        if viewer.user_id in self.user_ids:
            return True
        if viewer.supervises and any(viewer.scope.contains_path(p) for p in self.supervised_paths):
            return True
        return self.org_path is not None and viewer.scope.contains_path(self.org_path)

    @property
    def empty(self) -> bool:
        return not self.user_ids and not self.supervised_paths and not self.queue_paths and self.org_path is None

    def and_queue_supervisors_of(self, paths: Iterable[str]) -> Audience:
        return replace(self, queue_paths=self.queue_paths | (frozenset(paths) - self.supervised_paths))

    @classmethod
    def declared_by(cls, event: Event) -> Audience:
        """The audience an event carries itself (same rule as ``Event.is_for``)."""
        if event.user_ids:
            return cls(user_ids=frozenset(event.user_ids))
        return cls(org_path=event.org_path)

    @classmethod
    def of_agents(cls, owners: list[Owner]) -> Audience:
        return cls(user_ids=frozenset(o.user_id for o in owners),
                   supervised_paths=frozenset(o.org_path for o in owners))


NOBODY = Audience()


class AgentLookup(Protocol):
    async def owner(self, interface: str) -> Owner | None:
        """The user whose phone ``interface`` is, or None."""

    async def owners(self, interfaces: Iterable[str]) -> list[Owner]:
        """The users of those of ``interfaces`` that belong to one (a whole queue's members at once)."""

    async def unanswered_path(self) -> str:
        """Org path whose supervisors see calls no agent took (``cti_org_code``, or the root)."""


class Router:
    """Computes the :class:`Audience` of a bus event. It remembers which phones each recent call rang, who
    sent each recent command and which queues each phone is in (from the events it is shown), since later
    events do not repeat them."""

    def __init__(self, agents: AgentLookup, *, calls: CallAgents | None = None,
                 commands: CommandOwners | None = None, members: QueueMembers | None = None) -> None:
        self.agents = agents
        self.calls = calls or CallAgents()
        self.commands = commands or CommandOwners()
        self.members = members or QueueMembers()

    def observe(self, envelope: Envelope) -> None:
        event = envelope.event
        if isinstance(event, CallEvent):
            self.calls.observe(event)
        elif isinstance(event, AgentStateChanged):
            self.members.observe(envelope)
        elif isinstance(event, CtiCommand):
            self.commands.observe(event)

    async def audience(self, envelope: Envelope) -> Audience:
        self.observe(envelope)
        event = envelope.event
        if isinstance(event, AgentStateChanged):
            return await self._agents_or_unanswered([event.interface])
        if isinstance(event, CallEvent):
            audience = await self._agents_or_unanswered(sorted(self.calls.of(event.call_id)))
            queue = queue_moved(event)
            if queue is None:
                return audience
            members = await self.agents.owners(self.members.of(envelope.node, queue))
            return audience.and_queue_supervisors_of(o.org_path for o in members)
        if isinstance(event, (CommandResult, OriginateResult)):
            user_id = self.commands.of(event.command_id)
            return Audience(user_ids=frozenset({user_id})) if user_id is not None else NOBODY
        if isinstance(event, CtiCommand):
            return NOBODY
        return Audience.declared_by(event)

    async def _agents_or_unanswered(self, interfaces: list[str]) -> Audience:
        owners = [o for o in [await self.agents.owner(i) for i in interfaces] if o is not None]
        if owners:
            return Audience.of_agents(owners)
        return Audience(supervised_paths=frozenset({await self.agents.unanswered_path()}))

"""Every platform event type, defined once. Events are versioned pydantic models; JSON on the wire.

An event knows which stream carries it and whom it is for (named users, or an org subtree), so a
consumer such as the websocket hub routes by data, never by ad-hoc rules. Later capabilities (CTI,
IVR, tickets) add their event classes here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    stream: ClassVar[str]

    # Audience: the users named, or else everyone whose org scope contains ``org_path``.
    org_path: str | None = None
    user_ids: tuple[int, ...] = ()

    def is_for(self, user_id: int, scope_path: str | None) -> bool:
        """Whether the user (with the org scope rooted at ``scope_path``; None = everything) may receive this."""
        if self.user_ids:
            return user_id in self.user_ids
        if self.org_path is None:
            return False
        return scope_path is None or self.org_path.startswith(scope_path)


_REGISTRY: dict[tuple[str, int], type[Event]] = {}


E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    key = (cls.type, cls.version)
    if key in _REGISTRY:
        raise RuntimeError(f"event type {key} defined twice")
    _REGISTRY[key] = cls
    return cls


def event_class(type_: str, version: int) -> type[Event] | None:
    return _REGISTRY.get((type_, version))


class UnknownEvent(Exception):
    """A stream entry whose type/version this process does not know (e.g. written by a newer release)."""


@dataclass(frozen=True)
class Envelope:
    """An event as carried by the bus: the bus-assigned id, when and where it happened."""

    id: str
    stream: str
    event: Event
    occurred_at: datetime
    node: str | None = None

    @staticmethod
    def encode(event: Event, occurred_at: datetime, node: str | None) -> str:
        return json.dumps(
            {"type": event.type, "v": event.version, "at": occurred_at.isoformat(), "node": node,
             "data": event.model_dump(mode="json")},
            ensure_ascii=False, separators=(",", ":"),
        )

    @classmethod
    def decode(cls, id_: str, stream: str, raw: str | bytes) -> Envelope:
        wire: dict[str, Any] = json.loads(raw)
        klass = event_class(wire["type"], wire["v"])
        if klass is None:
            raise UnknownEvent(f"{wire.get('type')} v{wire.get('v')}")
        at = datetime.fromisoformat(wire["at"])
        return cls(id_, stream, klass.model_validate(wire["data"]), at.astimezone(UTC), wire.get("node"))


# --- security stream: logins and lockouts (consumed by audit dashboards and, later, agent presence)


@register
class UserLoggedIn(Event):
    type: ClassVar[str] = "auth.logged_in"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str
    client_ip: str | None = None


@register
class UserLoggedOut(Event):
    type: ClassVar[str] = "auth.logged_out"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str


@register
class UserLocked(Event):
    type: ClassVar[str] = "auth.locked"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str
    locked_until: datetime

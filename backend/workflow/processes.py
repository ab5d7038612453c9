"""Process definitions loaded from ``processes.yaml`` and checked once, at import (so at start)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.auth.permissions import Role
from backend.tickets.models import TicketType

PROCESS_FILE = Path(__file__).with_name("processes.yaml")
DEFAULT = "default"


class Action(enum.StrEnum):
    submit = "submit"  # 提交 (the ticket enters the workflow; recorded, never requested)
    transfer = "transfer"  # 转办
    escalate = "escalate"  # 上报
    return_ = "return"  # 退回
    reply = "reply"  # 答复
    close = "close"  # 结案
    reopen = "reopen"  # 重开
    withdraw = "withdraw"  # 撤回


STEP_ACTIONS = frozenset(Action) - {Action.submit, Action.reopen}


class ProcessError(ValueError):
    """A process definition that cannot work; the message names the file."""


@dataclass(frozen=True)
class ActionRule:
    next: str | None = None
    requires: Action | None = None


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    days: int
    assignee_role: Role | None  # None: any handler at the org
    actions: dict[Action, ActionRule] = field(default_factory=dict)


@dataclass(frozen=True)
class Process:
    steps: dict[str, Step]

    @property
    def first(self) -> Step:
        return next(iter(self.steps.values()))


def _step(path: Path, where: str, name: str, raw: Any) -> Step:
    def fail(why: str) -> ProcessError:
        return ProcessError(f"{path}: {where}.{name}: {why}")

    if not isinstance(raw, dict) or not isinstance(raw.get("actions"), dict):
        raise fail("a step needs label, days, assignee and actions")
    days = raw.get("days")
    if not isinstance(days, int) or days < 1:
        raise fail("days must be a positive whole number")
    assignee = str(raw.get("assignee", "org"))
    role: Role | None = None
    if assignee.startswith("role_at_org:"):
        try:
            role = Role(assignee.removeprefix("role_at_org:"))
        except ValueError:
            raise fail(f"unknown role in assignee {assignee!r}") from None
    elif assignee != "org":
        raise fail(f"unknown assignee {assignee!r} (org or role_at_org:<role>)")
    actions: dict[Action, ActionRule] = {}
    for action_name, options in raw["actions"].items():
        if action_name not in {a.value for a in STEP_ACTIONS}:
            raise fail(f"unknown action {action_name!r}")
        options = options or {}
        unknown = set(options) - {"next", "requires"}
        if unknown:
            raise fail(f"unknown option(s) {sorted(unknown)} of action {action_name!r}")
        requires = options.get("requires")
        if requires is not None and requires not in {a.value for a in STEP_ACTIONS}:
            raise fail(f"unknown action {requires!r} required by {action_name!r}")
        actions[Action(action_name)] = ActionRule(next=options.get("next"),
                                                  requires=Action(requires) if requires else None)
    return Step(name=name, label=str(raw.get("label", name)), days=days, assignee_role=role, actions=actions)


def load(path: Path = PROCESS_FILE) -> dict[str, Process]:
    """Every process of ``path``, keyed by ticket type (or ``default``), checked for unknown names."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProcessError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict) or DEFAULT not in raw:
        raise ProcessError(f"{path}: needs a mapping of ticket types with a {DEFAULT!r} entry")
    processes: dict[str, Process] = {}
    for kind, steps in raw.items():
        if kind != DEFAULT and kind not in {t.value for t in TicketType}:
            raise ProcessError(f"{path}: unknown ticket type {kind!r}")
        if not isinstance(steps, dict) or not steps:
            raise ProcessError(f"{path}: {kind}: needs at least one step")
        built = {name: _step(path, kind, name, step) for name, step in steps.items()}
        for step in built.values():
            for action, rule in step.actions.items():
                if rule.next is not None and rule.next not in built:
                    raise ProcessError(f"{path}: {kind}.{step.name}: action {action.value!r} goes to unknown "
                                       f"step {rule.next!r}")
        processes[kind] = Process(built)
    return processes


PROCESSES = load()


def process_for(ticket_type: str, processes: dict[str, Process] = PROCESSES) -> Process:
    return processes.get(ticket_type) or processes[DEFAULT]

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
    countersign = "countersign"  # 会签: ask several units in parallel
    sign = "sign"  # 会签意见: one unit's opinion on a countersign item
    propose = "propose"  # 拟办意见: the proposed decision, going to 审批
    approve = "approve"  # 审批 同意 (a proposed decision, or an extension beyond 30 days)
    reject = "reject"  # 审批 不同意 (an extension beyond 30 days)
    extend = "extend"  # 延期: 15 → 30 days with a reason; 30 → 60 asks the parent org's approval
    appraisal = "appraisal"  # 外部鉴定: days left out of the count
    merge = "merge"  # 合并: a repeat complaint merged into the open one
    merged = "merged"  # recorded on the ticket another was merged into
    supervise = "supervise"  # 督办 by a superior org
    urge = "urge"  # 催办
    remind = "remind"  # system: a step or the decision deadline is due soon
    overdue = "overdue"  # system: overdue, escalated to the superior org


# Actions a process definition may allow at a step (the others are not tied to the main line's step).
STEP_ACTIONS = frozenset({Action.transfer, Action.escalate, Action.return_, Action.reply, Action.close,
                          Action.withdraw, Action.countersign, Action.propose, Action.approve, Action.extend,
                          Action.appraisal, Action.merge})


class ProcessError(ValueError):
    """A process definition that cannot work; the message names the file."""


@dataclass(frozen=True)
class ActionRule:
    next: str | None = None
    requires: Action | None = None
    mode: str = "all"  # countersign: the step completes when all units signed, or any one
    days: int | None = None  # countersign: the units' own deadline


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
        unknown = set(options) - {"next", "requires", "mode", "days"}
        if unknown:
            raise fail(f"unknown option(s) {sorted(unknown)} of action {action_name!r}")
        if options.get("mode", "all") not in ("all", "any"):
            raise fail(f"mode of {action_name!r} must be all or any")
        if "days" in options and (not isinstance(options["days"], int) or options["days"] < 1):
            raise fail(f"days of {action_name!r} must be a positive whole number")
        requires = options.get("requires")
        if requires is not None and requires not in {a.value for a in STEP_ACTIONS}:
            raise fail(f"unknown action {requires!r} required by {action_name!r}")
        actions[Action(action_name)] = ActionRule(next=options.get("next"),
                                                  requires=Action(requires) if requires else None,
                                                  mode=options.get("mode", "all"), days=options.get("days"))
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
        ticket_type, at, org_code = str(kind).partition("@")
        if ticket_type != DEFAULT and ticket_type not in {t.value for t in TicketType}:
            raise ProcessError(f"{path}: unknown ticket type {ticket_type!r}")
        if at and not org_code:
            raise ProcessError(f"{path}: {kind!r}: an org-specific process is <type>@<org code>")
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


def process_for(key: str, processes: dict[str, Process] = PROCESSES) -> Process:
    """The process of a ticket: ``Ticket.process`` (chosen at submission), else its type, else the default."""
    return processes.get(key) or processes.get(key.partition("@")[0]) or processes[DEFAULT]


def choose(ticket_type: str, org_codes: list[str], processes: dict[str, Process] = PROCESSES) -> str:
    """The key of the process a ticket submitted at an org follows: ``<type>@<code>`` of the nearest org of
    ``org_codes`` (the owner's line, head office first) that has one, else the type's, else the default.
    Chosen once, at submission, so a ticket keeps its steps when it is transferred to another org."""
    for code in reversed(org_codes):
        if f"{ticket_type}@{code}" in processes:
            return f"{ticket_type}@{code}"
    return ticket_type if ticket_type in processes else DEFAULT

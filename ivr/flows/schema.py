"""The shape of a flow file: settings and the node types, one pydantic model each, discriminated by
``type``. Checks that need the whole flow or the platform (references, reachability, prompt ids,
queues) are the loader's; here each node only knows its own fields and which nodes it leads to.

Values that end up on the channel are templates: ``{customer.customer_id}``, ``{policy.policy_number}``,
``{service}``, ``{caller}``: a flow variable (or a built-in: caller, dialled, call_id, flow) and
attribute path; missing values render empty, booleans as ``1``/``0``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.flows.calendar import BusinessHours

NodeId = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]
VarName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]
Prompts = list[str]
TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
BUILTIN_VARIABLES = frozenset({"caller", "dialled", "call_id", "flow"})
MENU_KEYS = frozenset("0123456789*")


class NodeBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def targets(self) -> dict[str, str]:
        """Field name → node id this node can lead to."""
        return {}

    def prompt_ids(self) -> list[str]:
        return [p for name in ("prompts", "invalid_prompts", "timeout_prompts", "missing_prompts")
                for p in getattr(self, name, [])]

    def templates(self) -> list[str]:
        return []

    def stores(self) -> list[str]:
        """Flow variables this node may set."""
        return []

    def reads(self) -> list[str]:
        """Flow variables this node reads by name (templates are scanned separately)."""
        return []


def _channel_names(values: dict[str, str]) -> dict[str, str]:
    for name in values:
        # The CTI call model only captures VarSet of IVR_*: anything else would be invisible to the platform.
        if not re.fullmatch(r"IVR_[A-Z0-9_]+", name):
            raise ValueError(f"channel variable {name!r} must be IVR_ followed by capitals, digits or _")
    return values


class PlayNode(NodeBase):
    type: Literal["play"]
    prompts: Prompts = Field(min_length=1)
    next: NodeId

    def targets(self) -> dict[str, str]:
        return {"next": self.next}


class RetryingNode(NodeBase):
    prompts: Prompts = Field(min_length=1)
    timeout_seconds: float = Field(default=6.0, gt=0, le=60)
    retries: int | None = Field(default=None, ge=1, le=10)  # tries in all; None: the flow's max_retries
    invalid_prompts: Prompts = ["invalid-input"]
    timeout_prompts: Prompts = ["no-input"]
    fallback: NodeId


class MenuNode(RetryingNode):
    type: Literal["menu"]
    options: dict[str, NodeId] = Field(min_length=1)
    variable: str | None = None  # channel variable that records the digit chosen, e.g. IVR_CHOICE

    @field_validator("options", mode="before")
    @classmethod
    def _digits(cls, options: object) -> object:
        if isinstance(options, dict):
            options = {str(key): value for key, value in options.items()}
            for key in options:
                if key not in MENU_KEYS:
                    raise ValueError(f"option {key!r} is not a single key 0-9 or *")
        return options

    @field_validator("variable")
    @classmethod
    def _variable(cls, name: str | None) -> str | None:
        return None if name is None else next(iter(_channel_names({name: ""})))

    def targets(self) -> dict[str, str]:
        return {**{f"options.{key}": node for key, node in self.options.items()}, "fallback": self.fallback}


class CollectNode(RetryingNode):
    type: Literal["collect"]
    validator: Literal["digits", "policy_number", "plate", "id_last4"] = "digits"
    min_length: int = Field(default=1, ge=1, le=30)
    max_length: int = Field(default=20, ge=1, le=30)
    terminator: Literal["#", ""] = "#"
    store: VarName
    star: NodeId | None = None  # where * (pressed first) leads, e.g. "enter the plate instead"
    next: NodeId

    def targets(self) -> dict[str, str]:
        out = {"next": self.next, "fallback": self.fallback}
        return out | ({"star": self.star} if self.star else {})

    def stores(self) -> list[str]:
        return [self.store]


class LookupNode(NodeBase):
    type: Literal["lookup"]
    what: Literal["customer_by_caller", "policy_by_number", "policy_by_plate", "repeat_complainant"]
    input: VarName | None = None  # flow variable holding the number or plate
    days: int = Field(default=30, ge=1, le=3650)
    store: VarName
    found: NodeId
    not_found: NodeId

    def targets(self) -> dict[str, str]:
        return {"found": self.found, "not_found": self.not_found}

    def stores(self) -> list[str]:
        return [self.store]

    def reads(self) -> list[str]:
        return [self.input] if self.input else []


CHECKS = Literal["business_hours", "vip", "repeat_complainant", "risk_flag", "policy_in_force",
                 "id_last4_matches", "language", "variable"]
# The flow variable each check looks at unless the node names another.
DEFAULT_SUBJECT = {"vip": "customer", "risk_flag": "customer", "language": "customer", "repeat_complainant": "repeat",
                   "policy_in_force": "policy", "id_last4_matches": "policy"}


class ConditionNode(NodeBase):
    type: Literal["condition"]
    check: CHECKS
    subject: VarName | None = None
    input: VarName | None = None  # id_last4_matches: the variable holding the digits entered
    equals: str | None = None  # language / variable
    then: NodeId
    else_: NodeId = Field(alias="else")

    def targets(self) -> dict[str, str]:
        return {"then": self.then, "else": self.else_}

    def reads(self) -> list[str]:
        subject = self.subject or DEFAULT_SUBJECT.get(self.check)
        return [v for v in (subject, self.input) if v]


class SetNode(NodeBase):
    type: Literal["set"]
    channel: dict[str, str] = {}
    variables: dict[VarName, str] = {}
    next: NodeId

    @field_validator("channel")
    @classmethod
    def _names(cls, values: dict[str, str]) -> dict[str, str]:
        return _channel_names(values)

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def templates(self) -> list[str]:
        return [*self.channel.values(), *self.variables.values()]

    def stores(self) -> list[str]:
        return list(self.variables)


class RouteNode(NodeBase):
    type: Literal["route"]
    queue: str
    priority: int = Field(default=0, ge=0, le=100)
    prompts: Prompts = []  # played before handing the call to the queue
    channel: dict[str, str] = {}  # extra IVR_* variables

    @field_validator("channel")
    @classmethod
    def _names(cls, values: dict[str, str]) -> dict[str, str]:
        return _channel_names(values)

    def templates(self) -> list[str]:
        return list(self.channel.values())


class TransferNode(NodeBase):
    type: Literal["transfer"]
    extension: str = Field(pattern=r"^[0-9]{2,10}$")
    prompts: Prompts = []


class CallbackNode(NodeBase):
    type: Literal["callback"]
    service: str  # template, e.g. "{service}"
    prompts: Prompts = Field(min_length=1)  # the confirmation

    def templates(self) -> list[str]:
        return [self.service]


class SayNode(NodeBase):
    type: Literal["say"]
    kind: Literal["digits", "amount", "date", "number"]
    value: str  # template, e.g. "{policy.next_premium_amount}"
    prompts: Prompts = []  # before the value, e.g. "the amount due is"
    missing_prompts: Prompts = []  # instead, when the value is empty
    next: NodeId

    def targets(self) -> dict[str, str]:
        return {"next": self.next}

    def templates(self) -> list[str]:
        return [self.value]


class HangupNode(NodeBase):
    type: Literal["hangup"]
    prompts: Prompts = []
    outcome: Literal["hung_up", "self_service"] = "hung_up"


Node = Annotated[PlayNode | MenuNode | CollectNode | LookupNode | ConditionNode | SetNode | RouteNode
                 | TransferNode | CallbackNode | SayNode | HangupNode, Field(discriminator="type")]
NODE_TYPES = frozenset({"play", "menu", "collect", "lookup", "condition", "set", "route", "transfer",
                        "callback", "say", "hangup"})


class FlowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    business_hours: BusinessHours = BusinessHours()
    max_retries: int = Field(default=3, ge=1, le=10)
    default_queue: str = "general-service"
    max_steps: int = Field(default=200, ge=10, le=10_000)


class Flow(BaseModel):
    """A validated flow. Immutable: a call keeps the object it started with across reloads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    start: NodeId
    settings: FlowSettings = FlowSettings()
    nodes: dict[NodeId, Node]
    source: str = ""  # the file it came from, for messages


# What each collect validator accepts (lengths come from the node) and how it is stored.
# On a phone keypad X (the ID check character) is the * key.
INPUT_PATTERNS: dict[str, str] = {
    "digits": r"[0-9]+",
    "policy_number": r"[0-9]{6,}",
    "plate": r"[0-9]{3,}",
    "id_last4": r"[0-9]{4}|[0-9]{3}[*X]",
}
MASKED_INPUTS = frozenset({"id_last4"})

"""What a simulated PBX consists of: its listener, its queues and members, its agent phones, its pace."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["pjsip", "trace-local"]


@dataclass(frozen=True)
class AgentSpec:
    """A simulated agent phone. ``interface`` is the queue member interface (``PJSIP/1001`` or
    ``Local/agent1001@agents``); ``answer_after`` None means the phone rings and nobody picks up.
    ``static`` False: the phone exists (transfers and Dial reach it) but it sits in no queue until a
    QueueAdd puts it there, the way the production queues.conf leaves membership to the platform."""

    interface: str
    name: str
    answer_after: float | None = 2.0
    talk_time: float | tuple[float, float] = 3.0  # fixed, or (low, high) for a random talk time
    queues: tuple[str, ...] = ()  # queues it is a static member of; empty: every configured queue
    penalty: int = 0
    static: bool = True


@dataclass(frozen=True)
class QueueSpec:
    name: str
    strategy: Literal["ringall", "leastrecent", "rrmemory"] = "ringall"
    timeout: float = 15.0  # ring time per attempt
    retry: float = 2.0
    max_wait: float = 60.0  # Queue(name,,,,max_wait)


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    username: str = "cti"
    secret: str = "cti-secret"
    agi: str | None = "agi://127.0.0.1:4573/ivr"  # None: no IVR step (AGI fails, fallback queue)
    recordings: Path = Path("var/recordings")
    speed: float = 1.0  # 50: a 3 s Wait takes 60 ms
    mode: Mode = "pjsip"
    agents: list[AgentSpec] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    fallback_queue: str = "general-service"
    trunk: str = "operator"
    bad_login_delay: float = 1.0  # simulated seconds before "Authentication failed"
    version: str = "22.10.1"
    sounds: dict[str, float] = field(default_factory=dict)  # extra sound files (name → seconds), e.g. IVR prompts
    # Outside numbers dialled through the trunk (click-to-call, transfers to a number): they answer after
    # ``outside_answer_after`` and hang up after ``outside_talk_time``, unless listed as busy or never answering.
    outside_answer_after: float = 3.0
    outside_talk_time: float = 60.0
    busy_numbers: tuple[str, ...] = ()
    unanswered_numbers: tuple[str, ...] = ()
    consult_time: float = 3.0  # an attended transfer's transferer hangs up (completing it) after consulting this long

    def __post_init__(self) -> None:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:  # a test PBX that anyone on the network could log in to is a hole, not a feature
            raise ValueError(f"the PBX simulator listens on loopback only, not {self.host!r}")
        if not self.queues:
            self.queues = default_queues(self.mode)
        if not self.agents:
            self.agents = default_agents(self.mode)

    @classmethod
    def trace_local(cls, **kw: object) -> SimConfig:
        """The setup that recorded tests/data/asterisk-traces: Local channels, queue ``complaints``."""
        return cls(mode="trace-local", **kw)  # type: ignore[arg-type]


def default_queues(mode: Mode) -> list[QueueSpec]:
    if mode == "trace-local":
        return [QueueSpec("complaints", "ringall")]
    # The queues of asterisk_conf/queues.conf, so that every queue the platform names exists here too.
    return [QueueSpec("complaints", "leastrecent"), QueueSpec("claims", "rrmemory"),
            QueueSpec("consultation", "rrmemory"), QueueSpec("general-service", "leastrecent"),
            QueueSpec("callbacks", "rrmemory"), QueueSpec("vip", "leastrecent")]


def default_agents(mode: Mode) -> list[AgentSpec]:
    if mode == "trace-local":
        return [AgentSpec("Local/agent1001@agents", "Agent 1001", 2.0, 3.0),
                AgentSpec("Local/agent1002@agents", "Agent 1002", None)]
    return [AgentSpec(f"PJSIP/10{n:02d}", f"Agent 10{n:02d}", 2.0, (20.0, 90.0)) for n in range(1, 5)]

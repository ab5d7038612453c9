"""The simulator, recorded the way the real traces were, produces traffic the platform handles identically."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cti.ami.frames import iter_messages
from cti.simulator import PbxSimulator, SimConfig
from tests.cti_replay import as_golden, replay_rows
from tests.sim_helpers import TRACES, TraceAgiServer, record_session

GOLDEN = Path(__file__).parent / "data" / "golden"
SPEED = 25.0
TIME_FIELDS = {"wait_seconds", "ring_seconds", "talk_seconds", "duration_seconds", "hold_seconds"}
CLOCK_FIELDS = {"started_at", "answered_at", "ended_at"}
SCENARIOS = ["inbound_ivr_queue_answered", "inbound_queue_abandon", "outbound_answered", "outbound_busy",
             "outbound_noanswer"]
TOLERANCE = 0.75  # simulated seconds: event-loop jitter at SPEED plus the traces' own sub-second noise


def _normalise(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids: dict[str, str] = {}
    out = []
    for e in events:
        e = {k: v for k, v in e.items() if k not in CLOCK_FIELDS}
        if e.get("origin_channel"):  # the real server's channel counter ran on from one scenario to the next
            e["origin_channel"] = re.sub(r"-[0-9a-f]{8}(;\d)?$", r"-N\1", e["origin_channel"])
        if e.get("call_id"):
            e["call_id"] = ids.setdefault(e["call_id"], f"call-{len(ids)}")
        out.append(e)
    return out


def _same(golden: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert [e["type"] for e in got] == [e["type"] for e in golden]
    for want, have in zip(golden, got, strict=True):
        for key in want.keys() & have.keys():
            if key in TIME_FIELDS and want[key] is not None and have[key] is not None:
                assert have[key] == pytest.approx(want[key], abs=TOLERANCE), (want["type"], key)
            else:
                assert have[key] == want[key], (want["type"], key)


async def _record(scenario: str, tmp_path: Path) -> tuple[list[dict[str, Any]], TraceAgiServer]:
    agi = TraceAgiServer(scenario if (TRACES / f"{scenario}.agi.txt").exists() else "inbound_ivr_queue_answered")
    agi_port = await agi.start()
    sim = PbxSimulator(SimConfig.trace_local(speed=SPEED, agi=f"agi://127.0.0.1:{agi_port}/ivr",
                                             recordings=tmp_path))
    port = await sim.start()
    try:
        rows = await record_session(port, scenario, SPEED)
    finally:
        await sim.stop()
        await agi.stop()
    return rows, agi


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[dict[str, Any]], TraceAgiServer]]:
    """Record all five scenarios concurrently (each on its own simulator) to keep the suite fast."""
    async def run() -> dict[str, tuple[list[dict[str, Any]], TraceAgiServer]]:
        results = await asyncio.gather(*(_record(s, tmp_path_factory.mktemp(s)) for s in SCENARIOS))
        return dict(zip(SCENARIOS, results, strict=True))
    return asyncio.run(run())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_given_recorded_scenario_when_simulated_then_bridge_pipeline_gives_golden_events(
        scenario: str, recordings: dict[str, Any]) -> None:
    rows, _ = recordings[scenario]
    events = as_golden(replay_rows(rows, (TRACES / f"{scenario}.ami.sent.txt").read_bytes()))
    golden = json.loads((GOLDEN / f"{scenario}.calls.json").read_text())
    _same(_normalise(golden), _normalise(events))


def _header_shapes(data: bytes) -> dict[str, set[tuple[str, ...]]]:
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for message in iter_messages(data):
        if message.event:
            keys = tuple(k for k in message.fields) + tuple(sorted(message.repeated))
            shapes.setdefault(message.event, set()).add(keys)
    return shapes


def test_given_simulated_events_then_each_type_has_the_headers_and_order_of_the_traces(
        recordings: dict[str, Any]) -> None:
    real: dict[str, set[tuple[str, ...]]] = {}
    for path in TRACES.glob("*.ami.txt"):
        for name, shapes in _header_shapes(path.read_bytes()).items():
            real.setdefault(name, set()).update(shapes)
    produced: dict[str, set[tuple[str, ...]]] = {}
    for rows, _ in recordings.values():
        data = "".join(r["data"] for r in rows if r["dir"] == "rx").encode()
        for name, shapes in _header_shapes(data).items():
            produced.setdefault(name, set()).update(shapes)
    checked = [name for name in produced if name in real]
    assert len(checked) >= 30
    for name in checked:
        assert produced[name] <= real[name], f"{name}: {produced[name] - real[name]}"


@pytest.mark.parametrize("scenario", ["inbound_ivr_queue_answered", "inbound_queue_abandon"])
def test_given_trace_fastagi_server_when_call_reaches_ivr_then_asterisk_side_matches_trace(
        scenario: str, recordings: dict[str, Any]) -> None:
    _, agi = recordings[scenario]
    variable = ("agi_channel:", "agi_uniqueid:", "agi_threadid:", "agi_request:")
    def norm(lines: list[str]) -> list[str]:
        return [line.split(":", 1)[0] if line.startswith(variable) else line for line in lines]
    assert norm(agi.received) == norm(agi.expected)

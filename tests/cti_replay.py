"""Feed a recorded trace through decoder, typed events and call model, with the recorded timing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backend.core.events import Event
from cti.ami.events import to_typed
from cti.ami.frames import FrameDecoder
from cti.calls.model import CallModel

TRACES = Path(__file__).parent / "data" / "asterisk-traces"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def replay(scenario: str, model: CallModel | None = None) -> list[Event]:
    """Platform events the model produces for ``scenario``; outbound originates are registered first."""
    rows = [json.loads(line) for line in (TRACES / f"{scenario}.ami.jsonl").read_text().splitlines()]
    return replay_rows(rows, (TRACES / f"{scenario}.ami.sent.txt").read_bytes(), model)


def replay_rows(rows: list[dict[str, Any]], sent: bytes, model: CallModel | None = None) -> list[Event]:
    """The pipeline of the bridge — decoder, typed events, call model — over ``.ami.jsonl`` rows (recorded
    from a real Asterisk or from the simulator), each chunk handled at its recorded time. ``sent`` is what
    the client wrote: the Originates in it are registered with the model before anything arrives."""
    model = model or CallModel()
    for action in FrameDecoder(expect_banner=False).feed(sent):
        if (action.get("Action") or "").lower() == "originate" and action.get("Context") != "ivr-inbound":
            model.expect_originate(action.get("ActionID") or "", f"cmd-{action.get('ActionID')}",
                                   action.get("Channel") or "")
    decoder = FrameDecoder()
    out: list[Event] = []
    for row in rows:
        if row["dir"] != "rx":
            continue
        at = T0 + timedelta(seconds=row["t"])
        for message in decoder.feed(row["data"].encode("utf-8")):
            typed = to_typed(message)
            if typed is not None:
                out.extend(model.handle(typed, at))
    return out


def as_golden(events: list[Event]) -> list[dict[str, Any]]:
    return [{"type": e.type, **e.model_dump(mode="json", exclude={"org_path", "user_ids"})} for e in events]


if __name__ == "__main__":  # regenerate the golden files after a deliberate change: python -m tests.cti_replay
    GOLDEN = Path(__file__).parent / "data" / "golden"
    for path in sorted(GOLDEN.glob("*.calls.json")):
        scenario = path.name.removesuffix(".calls.json")
        path.write_text(json.dumps(as_golden(replay(scenario)), indent=1, ensure_ascii=False) + "\n")
        print("wrote", path)

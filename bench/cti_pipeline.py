"""CTI throughput, latency and memory: recorded AMI bytes through the decoder, the typed events and the call
and agent models (which produce the platform events), measured beside panoramisk's bare parser on the same bytes.

Issue 3's goals: at least 50,000 AMI events/s on one core and at least 70% of the bare parser's rate.
Memory: 2,000 concurrent calls held in the model (the answered-inbound trace, renumbered per call,
fed up to just before its first hang-up).
"""

from __future__ import annotations

import argparse
import re
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from bench.ami_parse import CHUNK, TRACES, corpus, panoramisk_rate
from bench.common import emit, latency_summary
from cti.agents.model import AgentModel
from cti.ami.events import to_typed
from cti.ami.frames import FrameDecoder, iter_messages
from cti.calls.model import CallModel

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def pipeline_rate(stream: bytes) -> tuple[int, int, float]:
    decoder = FrameDecoder(expect_banner=False)
    model = CallModel()
    agents = AgentModel()
    messages = produced = 0
    tick = timedelta(milliseconds=1)
    at = T0
    started = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        at += tick
        for message in decoder.feed(stream[i:i + CHUNK]):
            messages += 1
            typed = to_typed(message)
            if typed is not None:
                produced += len(model.handle(typed, at)) + len(agents.handle(typed))
    return messages, produced, time.perf_counter() - started


_IDS = re.compile(rb"17954552(\d\d)\.(\d+)")


def concurrent_calls_memory(calls: int) -> tuple[int, int]:
    """Peak traced bytes with ``calls`` live calls in the model, and the count it holds."""
    data = (TRACES / "inbound_ivr_queue_answered.ami.txt").read_bytes()
    messages = list(iter_messages(data))
    first_hangup = next(i for i, m in enumerate(messages) if m.event == "Hangup")
    body = data[data.find(b"\r\n") + 2:]
    tracemalloc.start()
    model = CallModel()
    for k in range(calls):
        renumbered = _IDS.sub(lambda m, k=k: b"%d%s.%s" % (k, m.group(1), m.group(2)), body)
        for message in list(iter_messages(renumbered, expect_banner=False))[:first_hangup]:
            typed = to_typed(message)
            if typed is not None:
                model.handle(typed, T0)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, len(model.calls)


async def main(args: argparse.Namespace) -> None:
    stream, expected = corpus(args.messages)
    best_pipe = best_bare = 0.0
    produced = 0
    for _ in range(args.rounds):
        count, produced, seconds = pipeline_rate(stream)
        assert count == expected
        best_pipe = max(best_pipe, count / seconds)
        bare_count, bare_seconds = panoramisk_rate(stream)
        best_bare = max(best_bare, bare_count / bare_seconds)
    emit("cti_pipeline", ami_events=expected, platform_events=produced, events_per_s=round(best_pipe),
         panoramisk_bare_per_s=round(best_bare), ratio_to_bare=round(best_pipe / best_bare, 3),
         goal="≥50000/s and ≥0.70 of bare")
    for bus_url in ("memory://", *([args.redis_url] if args.redis_url else [])):
        try:
            latencies = await bus_latency(args.latency_calls, args.rate, bus_url)
        except OSError as exc:
            emit("cti_byte_to_bus_latency", bus=bus_url.split("://")[0], skipped=f"bus unreachable: {exc}")
            continue
        emit("cti_byte_to_bus_latency", platform_events=len(latencies), ami_rate_per_s=args.rate,
             bus=bus_url.split("://")[0], **{k: v for k, v in latency_summary(latencies).items() if k != "n"})
    peak, live = concurrent_calls_memory(args.calls)
    emit("cti_concurrent_calls_memory", calls=live, peak_traced_mib=round(peak / 2**20, 1),
         bytes_per_call=round(peak / max(live, 1)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency-calls", type=int, default=200, help="recorded calls streamed for the latency")
    parser.add_argument("--rate", type=float, default=2000.0, help="AMI events per second sent to the bridge")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="also measure the latency onto Redis Streams (empty: skip)")


async def bus_latency(calls: int, rate: float, bus_url: str = "memory://") -> list[float]:
    """Run the real bridge against a loopback AMI peer that logs it in, answers its resync as an idle
    Asterisk, then streams ``calls`` recorded calls (renumbered) at ``rate`` AMI events per second."""
    import asyncio

    from backend.core.bus import create_bus
    from backend.core.clock import SystemClock
    from backend.core.settings import Settings
    from cti.ami.client import AmiSettings
    from cti.bridge import CtiBridge
    from tests.ami_replay import streaming_peer

    data = (TRACES / "inbound_ivr_queue_answered.ami.txt").read_bytes()
    body = data[data.find(b"\r\n") + 2:]
    frames = [
        frame + b"\r\n\r\n"
        for k in range(calls)
        for frame in _IDS.sub(lambda m, k=k: b"%d%s.%s" % (k, m.group(1), m.group(2)), body).split(b"\r\n\r\n")
        if frame
    ]
    done = asyncio.Event()
    server = await asyncio.start_server(streaming_peer(frames, gap=1.0 / rate, done=done), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = create_bus(bus_url, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    await bus.ping()
    bridge = CtiBridge(Settings(wrapup_seconds=0), bus, SystemClock(), record_latency=True,
                       ami=AmiSettings(host="127.0.0.1", port=port, username="cti", secret="x", ping_interval=3600))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    await done.wait()
    await asyncio.sleep(0.2)
    stop.set()
    await runner
    server.close()
    if hasattr(bus, "delete_streams"):
        await bus.delete_streams("calls", "agents", "commands")
    await bus.close()
    assert bridge.latencies is not None
    return bridge.latencies

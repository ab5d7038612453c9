"""End-to-end screen pop: from the AMI event leaving the PBX to the frame arriving at the agent's console.

The issue's acceptance: 1,000 agent websocket connections on one ``serve`` process, the simulator at 20 new
calls/s; screen-pop latency p50/p99 (goal p99 < 50 ms) and memory per connection. Production's topology on
one machine, each part in its own process (``time.time()`` is one clock for all of them):

- **pbx**: the PBX simulator (production PJSIP dialplan) with one phone per agent user (``phone_interface``),
  each a static member of one of ``--queues`` queues, ready, ringing ``--ring`` s and talking ``--talk`` s.
  Its queues ring for one caller at a time (app_queue without autofill), so 20 calls/s are spread over
  several queues. Callers are routed by a one-command FastAGI step (``SET VARIABLE IVR_QUEUE``, no menus:
  straight to the queue after Answer and MixMonitor), round robin. Calls start on a fixed wall-clock
  schedule. The AMI writer's send hook (``AmiServer.on_sent``) stamps every ``AgentCalled`` it writes.
- **cti**: the CTI bridge over real AMI, publishing on Redis Streams (production's bus).
- **serve**: uvicorn and the app on the runtime's loop (uvloop), SQLite, holding the websockets.
- **this process**: the agents' websocket clients, stamping each ``call.agent_ringing`` frame on arrival.

Without Redis the bus is in-process, so the bridge runs inside the serve process. A frame is matched to its
``AgentCalled`` by (call id = Linkedid, agent interface). Memory per connection is the growth of the serve
process's resident set from one connection to N+1, divided by N (as in ``hub_ws``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import websockets

from backend.core import runtime
from backend.core.bus import create_bus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from bench.common import emit, percentile
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, QueueSpec, SimConfig

# Every process of the topology imports this module; what only serve and this process need (the app, the
# seed data, ``bench.hub_ws``) is imported where it is used, so the PBX and CTI processes start in a blink.
CACHE = Path(tempfile.gettempdir()) / "lianluo-bench"
GOAL_P99_MS = 50.0
STREAMS = ("calls", "agents", "commands", "tickets", "security")
Key = tuple[str, str]  # (call id, agent interface)


# --- the pbx process


async def _queue_router(queues: list[str]) -> asyncio.Server:
    """The IVR's one job here: put each caller in the next queue (FastAGI, as ``lianluo ivr`` does)."""
    turn = itertools.cycle(queues)

    async def route(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():  # the AGI environment, up to its blank line
            pass
        writer.write(f"SET VARIABLE IVR_QUEUE {next(turn)}\n".encode())
        await reader.readline()
        writer.close()

    return await asyncio.start_server(route, "127.0.0.1", 0)


async def _calls(sim: PbxSimulator, rate: float, seconds: float) -> int:
    count = int(rate * seconds)
    started = time.perf_counter()
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await sim.inbound_call(f"139{i:08d}", keys=(), stay=120.0)
    return count


async def _pbx(phones: list[str], port: int, queues: int, ring: float, talk: tuple[float, float], recordings: str,
               conn: Connection) -> None:
    names = [f"q{k:02d}" for k in range(queues)]
    router = await _queue_router(names)
    agi_port = router.sockets[0].getsockname()[1]
    sim = PbxSimulator(SimConfig(
        port=port, agi=f"agi://127.0.0.1:{agi_port}/route", recordings=Path(recordings),
        queues=[QueueSpec(name, "leastrecent", max_wait=600.0) for name in names],
        agents=[AgentSpec(phone, f"坐席{i}", ring, talk, queues=(names[i % queues],)) for i, phone in enumerate(phones)]))
    sent: dict[Key, float] = {}

    def stamp(name: str, fields: list[tuple[str, str]], at: float) -> None:
        if name == "AgentCalled":  # the first ring of a phone for a call is its screen pop (the bridge's too)
            headers = dict(fields)
            sent.setdefault((headers["Linkedid"], headers["Interface"]), at)

    sim.server.on_sent = stamp
    await sim.start()
    conn.send(("ready",))
    loop = asyncio.get_running_loop()
    while (message := await loop.run_in_executor(None, conn.recv))[0] != "stop":
        if message[0] == "calls":
            conn.send(("calls", await _calls(sim, *message[1:])))
        elif message[0] == "sent":
            conn.send(("sent", sent))
    await sim.stop()
    router.close()


def _pbx_main(*args: Any) -> None:
    runtime.run(_pbx(*args))


# --- the cti process (Redis), or the bridge inside serve (in-process bus)


def _bridge(bus_url: str, prefix: str, bus: Any, ami_port: int, wrapup: int) -> CtiBridge:
    settings = Settings(bus_url=bus_url, bus_stream_prefix=prefix, node_id="bench", wrapup_seconds=wrapup,
                        log_level="WARNING")
    return CtiBridge(settings, bus, SystemClock(), ami=AmiSettings("127.0.0.1", ami_port, "cti", "cti-secret"))


async def _cti(bus_url: str, prefix: str, ami_port: int, wrapup: int, conn: Connection) -> None:
    bus = create_bus(bus_url, prefix=prefix)
    bridge = _bridge(bus_url, prefix, bus, ami_port, wrapup)
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    await bridge.accepting_commands.wait()
    conn.send(("ready",))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    stop.set()
    await task
    await bus.close()


def _cti_main(*args: Any) -> None:
    runtime.run(_cti(*args))


# --- the serve process


async def _serve(db_url: str, bus_url: str, prefix: str, port: int, ami_port: int | None, wrapup: int,
                 conn: Connection) -> None:
    import uvicorn

    from backend.app import create_app
    from backend.core.context import AppContext
    from bench.hub_ws import _rss_bytes, _settings

    ctx = AppContext.from_settings(_settings(db_url, bus_url, prefix))
    # As ``lianluo serve`` configures it (backend/cli.py).
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, backlog=4096, ws_ping_interval=20))
    tasks = [asyncio.create_task(server.serve())]
    stop = asyncio.Event()
    if ami_port is not None:
        bridge = _bridge(bus_url, prefix, ctx.bus, ami_port, wrapup)
        tasks.append(asyncio.create_task(bridge.run(stop)))
        await bridge.accepting_commands.wait()
    while not server.started:
        await asyncio.sleep(0.02)
    conn.send(("ready",))
    loop = asyncio.get_running_loop()
    profiler = None
    while (message := await loop.run_in_executor(None, conn.recv))[0] != "stop":
        if message[0] == "rss":
            conn.send(("rss", _rss_bytes()))
        elif message[0] == "gc":  # one full collection: how long the loop stops when the collector runs one
            started = time.perf_counter()
            gc.collect()
            conn.send(("gc", time.perf_counter() - started))
        elif message[0] == "profile":  # the loop's own thread, sampled: where the serve process spends its time
            from pyinstrument import Profiler

            if profiler is None:
                profiler = Profiler(interval=0.0005, async_mode="disabled")
                profiler.start()
            else:
                profiler.stop()
                Path(message[1]).write_text(profiler.output_text(unicode=True, show_all=False))
            conn.send(("profile", True))
    stop.set()
    server.should_exit = True
    await asyncio.gather(*tasks)


def _serve_main(*args: Any) -> None:
    runtime.run(_serve(*args))


# --- this process: the consoles


class Console:
    """One agent's websocket: answers pings, stamps each screen pop (ringing frame) on arrival."""

    def __init__(self) -> None:
        self.rings: dict[Key, tuple[float, float]] = {}  # → (arrived, published on the bus)
        self.hello = asyncio.Event()

    async def run(self, url: str, stop: asyncio.Event) -> None:
        async with websockets.connect(url, ping_interval=None, max_queue=None, open_timeout=60) as ws:
            async def read() -> None:
                async for text in ws:
                    arrived = time.time()
                    frame = json.loads(text)
                    kind = frame.get("type")
                    if kind == "call.agent_ringing":
                        published = datetime.fromisoformat(frame["at"]).timestamp()
                        self.rings[(frame["data"]["call_id"], frame["data"]["agent_interface"])] = (arrived, published)
                    elif kind == "ping":
                        await ws.send('{"type":"pong"}')
                    elif kind == "hello":
                        self.hello.set()

            reader = asyncio.create_task(read())
            await stop.wait()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class Child:
    """A process of the topology and its pipe."""

    def __init__(self, name: str, target: Any, *args: Any) -> None:
        self.name = name
        spawn = multiprocessing.get_context("spawn")
        self.pipe, theirs = spawn.Pipe()
        self.process = spawn.Process(target=target, args=(*args, theirs), daemon=True)
        self.process.start()

    async def receive(self, timeout: float = 120.0) -> Any:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self.pipe.poll, timeout):
            raise TimeoutError(f"{self.process.name} did not answer in {timeout:.0f}s")
        return (await loop.run_in_executor(None, self.pipe.recv))[1:]

    async def ask(self, *message: Any, timeout: float = 120.0) -> Any:
        self.pipe.send(message)
        return (await self.receive(timeout))[0]

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.pipe.send(("stop",))

    def join(self) -> None:
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


async def _usable(bus_url: str) -> str:
    """``bus_url`` if that bus answers, else the in-process bus."""
    if bus_url.startswith("redis"):
        bus = create_bus(bus_url, prefix="bench-probe")
        try:
            await asyncio.wait_for(bus.ping(), 2)
            return bus_url
        except Exception:  # noqa: BLE001 — refused, timed out, not Redis: the in-process bus then
            pass
        finally:
            await bus.close()
    return "memory://"


async def _connect(consoles: list[Console], tokens: list[str], port: int, stop: asyncio.Event,
                   tasks: list[asyncio.Task[None]]) -> None:
    for start in range(0, len(consoles), 100):
        batch = consoles[start:start + 100]
        tasks += [asyncio.create_task(c.run(f"ws://127.0.0.1:{port}/ws?token={token}", stop))
                  for c, token in zip(batch, tokens[start:start + 100], strict=True)]
        await asyncio.wait_for(asyncio.gather(*(c.hello.wait() for c in batch)), 120)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.hub_ws import _agents, _free_port

    CACHE.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{CACHE}/screenpop-e2e.db"
    agents = await _agents(db_url, args.connections + 1)
    (warm_token, _), agents = agents[0], agents[1:]
    bus_url = await _usable(args.bus_url)
    redis = bus_url != "memory://"
    prefix = f"bench-e2e-{secrets.token_hex(4)}"
    port, ami_port = _free_port(), _free_port()
    children: list[Child] = []
    stop = asyncio.Event()
    consoles = [Console() for _ in agents]
    tasks: list[asyncio.Task[None]] = []
    with tempfile.TemporaryDirectory(prefix="lianluo-bench-rec-") as recordings:
        try:
            # All at once, as after a power cut: the bridge retries the PBX until it listens.
            pbx = Child("pbx", _pbx_main, [phone for _, phone in agents], ami_port, args.queues, args.ring,
                        tuple(args.talk), recordings)
            serve = Child("serve", _serve_main, db_url, bus_url, prefix, port, None if redis else ami_port, args.wrapup)
            children += [pbx, serve]
            if redis:
                children.append(Child("cti", _cti_main, bus_url, prefix, ami_port, args.wrapup))
            for child in children:
                await child.receive()
            # One connection first: the hub itself (followers, caches) is not a per-connection cost.
            settle = min(1.0, 0.1 + args.connections / 1000)  # for the resident set to follow the connections
            await _connect([Console()], [warm_token], port, stop, tasks)
            await asyncio.sleep(settle)
            rss_one = await serve.ask("rss")
            await _connect(consoles, [token for token, _ in agents], port, stop, tasks)
            await asyncio.sleep(settle)
            rss_all = await serve.ask("rss")
            cpu_before = _cpu_seconds(children)
            profile = os.environ.get("LIANLUO_BENCH_PROFILE")  # a file for the serve process's pyinstrument report
            if profile:
                await serve.ask("profile", profile)
            started = time.perf_counter()
            calls = await pbx.ask("calls", args.rate, args.seconds, timeout=args.seconds + 120)
            with contextlib.suppress(TimeoutError):  # the last calls on their way to a phone, their frames in flight
                async with asyncio.timeout(5):
                    while sum(len(c.rings) for c in consoles) < calls:
                        await asyncio.sleep(0.05)
            sent: dict[Key, float] = await pbx.ask("sent")
            elapsed = time.perf_counter() - started
            if profile:
                await serve.ask("profile", profile)
            cpu = {name: round((after - cpu_before[name]) / elapsed, 2)
                   for name, after in _cpu_seconds(children).items()}
            full_gc = await serve.ask("gc")
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for child in reversed(children):
                child.stop()
            for child in children:
                child.join()
            if redis:
                bus = create_bus(bus_url, prefix=prefix)
                await bus.delete_streams(*STREAMS)  # type: ignore[attr-defined]
                await bus.close()
    rings = {key: at for c in consoles for key, at in c.rings.items()}
    # (AMI event written, on the bus, at the console) per matched ring, in the order the PBX rang them
    samples = sorted((sent[key], published, arrived) for key, (arrived, published) in rings.items() if key in sent)
    return {"calls": calls, "agent_called": len(sent), "frames": len(rings), "samples": samples,
            "bus": "redis" if redis else "memory", "rss_one": rss_one, "rss_all": rss_all, "cpu": cpu,
            "full_gc": full_gc}


def _cpu_seconds(children: list[Child]) -> dict[str, float]:
    """CPU time (user + system) each process of the topology has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for child in children:
        with open(f"/proc/{child.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[child.name] = (int(fields[11]) + int(fields[12])) / ticks
    usage = os.times()
    out["clients"] = usage.user + usage.system
    return out


async def main(args: argparse.Namespace) -> None:
    result = await run(args)
    timings = result["samples"]
    samples = [(arrived - sent) * 1000 for sent, _, arrived in timings]
    if os.environ.get("LIANLUO_BENCH_TIMELINE"):  # every ring, for finding when the slow ones happened
        with open(os.environ["LIANLUO_BENCH_TIMELINE"], "w") as out:
            json.dump(timings, out)
    if len(samples) < result["agent_called"]:
        print(f"# {result['agent_called'] - len(samples)} of {result['agent_called']} rings never popped on a console",
              file=sys.stderr, flush=True)
    p99 = percentile(samples, 0.99)
    emit("screenpop_e2e", connections=args.connections, calls_per_second=args.rate, duration_s=args.seconds,
         queues=args.queues, calls=result["calls"], agent_called=result["agent_called"],
         frames_matched=len(samples), **{f"p{q}_ms": round(percentile(samples, q / 100), 2) for q in (50, 95, 99)},
         max_ms=round(max(samples, default=float("nan")), 2),
         # the two halves of it: AMI → CTI bridge → bus, and bus → hub → console
         ami_to_bus_p99_ms=round(percentile([(p - s) * 1000 for s, p, _ in timings], 0.99), 2),
         bus_to_console_p99_ms=round(percentile([(a - p) * 1000 for _, p, a in timings], 0.99), 2),
         rss_per_connection_kib=round((result["rss_all"] - result["rss_one"]) / max(args.connections, 1) / 1024, 1),
         server_rss_mib=round(result["rss_all"] / 2**20, 1), bus=result["bus"],
         cpu_cores_used=result["cpu"],  # by each process while calls arrived (1.0 = one core busy)
         serve_full_gc_ms=round(result["full_gc"] * 1000, 1),
         topology="pbx | cti | serve | clients" if result["bus"] == "redis" else "pbx | serve+cti | clients",
         ivr="one-step FastAGI queue router (no menus)", goal_p99_ms=GOAL_P99_MS,
         met=bool(samples) and p99 < GOAL_P99_MS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections", type=int, default=1000, help="agents: phones on the PBX and websockets")
    parser.add_argument("--rate", type=float, default=20.0, help="new inbound calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long calls keep arriving")
    parser.add_argument("--queues", type=int, default=20, help="queues the agents are spread over")
    parser.add_argument("--ring", type=float, default=0.3, help="seconds an agent's phone rings before answering")
    parser.add_argument("--talk", type=float, nargs=2, default=(3.0, 8.0), metavar=("MIN", "MAX"),
                        help="talk time range, seconds")
    parser.add_argument("--wrapup", type=int, default=5, help="after-call work (话后处理) seconds")
    parser.add_argument("--bus-url", default=os.environ.get("LIANLUO_BENCH_BUS_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis Streams (used when reachable) or memory://")

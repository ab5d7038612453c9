"""FastAGI server throughput and responsiveness: 500 simulated Asterisk clients over loopback.

Each client runs calls as Asterisk would: the recorded env block, then a realistic reply to every command,
"pressing digits" in reply to ``GET DATA`` after a think time. Measured: commands per second, and the time a
caller waits for the IVR to react, two ways:

- ``digit_to_next_command`` (the goal's figure, as the issue defines it): in the server, from the reply
  carrying the caller's digits coming off the socket (``ArrivalStampedReader``, so waiting for the event loop
  counts) to the next AGI command being written;
- ``client_round_trip``: in the clients, from writing the digits to reading the next command. It adds the
  loopback and the client process's own scheduling (500 connections in one Python process on the same two
  cores), so its tail is mostly the clients'.

Goal: p99 < 20 ms with 500 concurrent calls on a 2-core machine.

The clients run in a child process (``python -m bench.ivr_agi --client-port …``) so that their own work does
not eat the server's event loop. The handler defaults to the shipped default flow (``bench.ivr_default_flow``);
``--handler module:function`` (or ``main(args, handler=…)``) points it at another, e.g. the fixed 11-command
``bench.ivr_agi:demo_flow``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import emit, latency_summary
from ivr.agi.server import AgiServer, Handler
from ivr.agi.session import AgiSession

ROOT = Path(__file__).resolve().parent.parent
TRACE_ENV = ROOT / "tests" / "data" / "asterisk-traces" / "inbound_ivr_queue_answered.agi.txt"

REPLIES = {"ANSWER": "200 result=0", "STREAM FILE": "200 result=0 endpos=8000", "SAY DIGITS": "200 result=0",
           "SET VARIABLE": "200 result=1", "GET VARIABLE": "200 result=1 (1)", "VERBOSE": "200 result=1",
           "GET FULL VARIABLE": "200 result=1 (13912345678)", "EXEC": "200 result=0", "HANGUP": "200 result=1"}


async def demo_flow(s: AgiSession) -> None:
    """A complaint hotline's first minute: welcome, menu, policy number, confirmation."""
    await s.answer()
    await s.stream_file("lianluo/zh/welcome")
    menu = await s.get_data("lianluo/zh/menu", 5000, 1)
    await s.set_variable("IVR_CHOICE", menu or "")
    policy = await s.get_data("lianluo/zh/enter-policy", 8000, 10)
    await s.set_variable("IVR_POLICY", policy or "")
    await s.get_full_variable("${CALLERID(num)}")
    await s.say_digits(policy or "0")
    confirm = await s.get_data("lianluo/zh/confirm", 5000, 1)
    await s.set_variable("IVR_CONFIRMED", confirm or "")
    await s.verbose(f"IVR choice {menu} policy {policy} confirmed {confirm}")


@functools.cache
def _recorded_env() -> tuple[str, ...]:
    return tuple(line[5:] for line in TRACE_ENV.read_text().splitlines() if line.startswith("AST> agi_"))


def _env(call: int) -> bytes:
    lines = [f"agi_uniqueid: 1795455247.{call}" if line.startswith("agi_uniqueid:") else line for line in _recorded_env()]
    return ("\n".join(lines) + "\n\n").encode()


def _reply(command: str) -> str:
    verb = " ".join(w for w in command.split(" ")[:3] if w.isupper() and w.isalpha())
    for known in (verb, " ".join(verb.split(" ")[:2]), verb.split(" ")[0]):
        if known in REPLIES:
            return REPLIES[known]
    return "510 Invalid or unknown command"


async def _caller(port: int, calls: range, think_s: float, stats: dict[str, Any]) -> None:
    rng = random.Random(calls.start)
    for call in calls:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_env(call))
        pressed_at: float | None = None
        while line := await reader.readline():
            if pressed_at is not None:
                stats["latencies"].append(time.perf_counter() - pressed_at)
                pressed_at = None
            stats["commands"] += 1
            command = line.decode().rstrip("\n")
            if command.startswith("GET DATA"):
                max_digits = int(command.split(" ")[-1])
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
                writer.write(f"200 result={''.join(rng.choices('0123456789', k=max_digits))}\n".encode())
                pressed_at = time.perf_counter()
            else:
                writer.write((_reply(command) + "\n").encode())
        writer.close()
        await writer.wait_closed()
        stats["calls"] += 1


async def run_clients(port: int, clients: int, calls_each: int, think_ms: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"commands": 0, "calls": 0, "latencies": []}
    started = time.perf_counter()
    await asyncio.gather(*(_caller(port, range(i * calls_each, (i + 1) * calls_each), think_ms / 1000, stats)
                           for i in range(clients)))
    stats["seconds"] = time.perf_counter() - started
    return stats


async def _clients_in_child(port: int, clients: int, calls_each: int, think_ms: float) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.ivr_agi", "--client-port", str(port), "--clients", str(clients),
        "--calls-per-client", str(calls_each), "--think-ms", str(think_ms),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"bench client process failed ({child.returncode})")
    return json.loads(out)


def load_handler(spec: str | None) -> Handler:
    if not spec:
        return demo_flow
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


async def main(args: argparse.Namespace, handler: Handler | None = None) -> None:
    reactions: list[float] = []
    server = AgiServer(handler or load_handler(args.handler), "127.0.0.1", 0, on_reaction=reactions.append)
    port = await server.start()
    try:
        for think_ms in (args.think_ms, 0.0):
            reactions.clear()
            run = _clients_in_child if not args.in_process else run_clients
            stats = await run(port, args.clients, args.calls_per_client, think_ms)
            emit("ivr_agi", clients=args.clients, calls=stats["calls"], think_ms=think_ms,
                 commands=stats["commands"], commands_per_s=round(stats["commands"] / stats["seconds"]),
                 digit_to_next_command=latency_summary(reactions) if reactions else None,
                 client_round_trip=latency_summary(stats["latencies"]) if stats["latencies"] else None,
                 goal="digit_to_next_command p99 < 20 ms at 500 concurrent calls")
    finally:
        await server.stop(1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=500, help="concurrent simulated Asterisk connections")
    parser.add_argument("--calls-per-client", type=int, default=3, help="calls each client runs in turn")
    parser.add_argument("--think-ms", type=float, default=300.0,
                        help="mean time a caller takes to press digits (a second run uses 0: saturation)")
    parser.add_argument("--handler", default="bench.ivr_default_flow:handle",
                        help="module:function of the call handler (default: the shipped default flow; "
                             "bench.ivr_agi:demo_flow is a fixed 11-command dialogue)")
    parser.add_argument("--in-process", action="store_true", help="run the clients in the server's process")


def _client_main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ivr_agi")
    parser.add_argument("--client-port", type=int, required=True)
    add_arguments(parser)
    args = parser.parse_args()
    stats = asyncio.run(run_clients(args.client_port, args.clients, args.calls_per_client, args.think_ms))
    print(json.dumps(stats))


if __name__ == "__main__":
    _client_main()

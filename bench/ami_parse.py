"""AMI parsing rate on one core: Lianluo's frame decoder beside panoramisk's bare parser, same bytes.

The stream is the recorded call traces (tests/data/asterisk-traces) concatenated and repeated, fed in
4 KB reads as a socket would deliver them. panoramisk's side is what its AMIProtocol.data_received
does per read (ASCII decode, split on the blank line, Message.from_line), without its dispatching.
This is the parse step only; the issue-3 figure adds the call model on top.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from panoramisk.message import Message

from bench.common import emit
from cti.ami.frames import FrameDecoder

TRACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "asterisk-traces"
CHUNK = 4096


def corpus(min_messages: int) -> tuple[bytes, int]:
    one = b""
    for path in sorted(TRACES.glob("*.ami.txt")):
        data = path.read_bytes()
        banner_end = data.find(b"\r\n")
        one += data[banner_end + 2:] if data.startswith(b"Asterisk Call Manager/") else data
    per_copy = one.count(b"\r\n\r\n")
    copies = max(1, -(-min_messages // per_copy))
    return one * copies, per_copy * copies


def lianluo_rate(stream: bytes) -> tuple[int, float]:
    decoder = FrameDecoder(expect_banner=False)
    count = 0
    started = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        count += len(decoder.feed(stream[i:i + CHUNK]))
    return count, time.perf_counter() - started


def panoramisk_rate(stream: bytes) -> tuple[int, float]:
    pending = ""
    count = 0
    started = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        data = pending + stream[i:i + CHUNK].decode("ascii", "ignore")
        lines = data.split("\r\n\r\n")
        pending = lines.pop(-1)
        for line in lines:
            if Message.from_line(line.strip()) is not None:
                count += 1
    return count, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    stream, expected = corpus(args.messages)
    best: dict[str, float] = {}
    for _ in range(args.rounds):  # best of N: the machine's other work only ever slows a round down
        for name, fn in (("lianluo", lianluo_rate), ("panoramisk", panoramisk_rate)):
            count, seconds = fn(stream)
            assert count == expected, (name, count, expected)
            best[name] = max(best.get(name, 0.0), count / seconds)
    emit("ami_parse", messages=expected, bytes=len(stream), lianluo_msgs_per_s=round(best["lianluo"]),
         panoramisk_msgs_per_s=round(best["panoramisk"]), ratio=round(best["lianluo"] / best["panoramisk"], 3))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)

"""The Asterisk side of FastAGI: connect to ``agi://host:port/script``, send the environment, answer
commands like Asterisk 22 does (README "FastAGI observations"), with AGIExecStart/End around each."""

from __future__ import annotations

import asyncio
import logging
import random
import shlex
from urllib.parse import urlsplit

from cti.simulator.pbx import Channel, Pbx

log = logging.getLogger("lianluo.simulator.agi")
SOUNDS = {"beep": 0.25}  # files the simulated PBX has, with their length in seconds; others are missing


def env_block(ch: Channel, url: str, version: str, network_script: str) -> bytes:
    pairs = [
        ("network", "yes"), ("network_script", network_script), ("request", url), ("channel", ch.name),
        ("language", "en"), ("type", ch.tech), ("uniqueid", ch.uniqueid), ("version", version),
        ("callerid", ch.cid_num), ("calleridname", ch.cid_name), ("callingpres", "0"), ("callingani2", "0"),
        ("callington", "0"), ("callingtns", "0"), ("dnid", "unknown"), ("rdnis", "unknown"),
        ("context", ch.context), ("extension", ch.exten), ("priority", str(ch.priority)), ("enhanced", "0.0"),
        ("accountcode", ""), ("threadid", str(140642948597440 + id(ch) % 100000)),
    ]
    return ("".join(f"agi_{k}: {v}\n" for k, v in pairs) + "\n").encode()


async def run_agi(pbx: Pbx, ch: Channel, url: str | None, version: str = "22.10.1") -> str:
    """Run the AGI step on ``ch``; sets and returns AGISTATUS."""
    status = "FAILURE"
    if url:
        parts = urlsplit(url)
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 4573)
        except OSError as exc:
            log.info("FastAGI %s unreachable: %s", url, exc)
        else:
            try:
                await _session(pbx, ch, reader, writer, env_block(ch, url, version, parts.path.lstrip("/")))
            finally:
                writer.close()
    pbx.set_var(ch, "AGISTATUS", status)
    return status


async def _session(pbx: Pbx, ch: Channel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   env: bytes) -> None:
    writer.write(env)
    await writer.drain()
    while ch.alive and not ch.hup.is_set():
        line = await reader.readline()
        if not line:
            break
        command = line.decode("utf-8", "replace").strip()
        if not command:
            continue
        command_id = str(random.randint(1, 2**31 - 1))
        pbx.ch_event("AGIExecStart", ch, ("CommandId", command_id), ("Command", command), privilege="agi,all")
        reply, code, result = await _execute(pbx, ch, command)
        pbx.ch_event("AGIExecEnd", ch, ("CommandId", command_id), ("Command", command), ("ResultCode", code),
                     ("Result", result), privilege="agi,all")
        writer.write(reply.encode() + b"\n")
        await writer.drain()
    try:  # Asterisk says HANGUP when the AGI session ends, even if the caller is still there
        writer.write(b"HANGUP\n")
        await writer.drain()
    except OSError:
        pass


async def _execute(pbx: Pbx, ch: Channel, command: str) -> tuple[str, str, str]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    verb = " ".join(w.upper() for w in words[:3])
    ok = ("200", "Success")
    if verb.startswith("ANSWER"):
        if ch.state != 6:
            pbx.set_state(ch, 6)
        return "200 result=0", *ok
    if verb.startswith("STREAM FILE"):
        length = _length(pbx, words[2] if len(words) > 2 else "")
        if length is None:
            return "200 result=-1 endpos=0", "-1", "Failure"
        # A key among the escape digits stops the playback; result is its ASCII code (Asterisk's rule).
        pressed = await _play(pbx, ch, length, words[3] if len(words) > 3 else "")
        pbx.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
        if pressed is not None:
            return f"200 result={ord(pressed)} endpos={int(length * 4000)}", *ok
        return f"200 result=0 endpos={int(length * 8000)}", *ok
    if verb.startswith("GET DATA"):
        timeout = float(words[3]) / 1000 if len(words) > 3 else 5.0
        limit = int(words[4]) if len(words) > 4 else 1024
        # Keys pressed while the prompt plays stop it and count, as on a real PBX.
        first = await _play(pbx, ch, _length(pbx, words[2] if len(words) > 2 else "") or 0.0, "0123456789*#")
        if first == "#":
            return "200 result=", *ok
        digits, timed_out = await _collect(pbx, ch, timeout, limit, first or "")
        return (f"200 result={digits} (timeout)" if timed_out else f"200 result={digits}"), *ok
    if verb.startswith("SET VARIABLE") and len(words) >= 4:
        pbx.set_var(ch, words[2], words[3])
        return "200 result=1", *ok
    if verb.startswith("GET FULL VARIABLE") and len(words) >= 4:
        value = pbx.get_var(ch, words[3].removeprefix("${").removesuffix("}"))
        return (f"200 result=1 ({value})" if value else "200 result=0"), *ok
    if verb.startswith("GET VARIABLE") and len(words) >= 3:
        value = pbx.get_var(ch, words[2])
        return (f"200 result=1 ({value})" if value else "200 result=0"), *ok
    if verb.startswith("VERBOSE"):
        return "200 result=1", *ok
    if verb.startswith("EXEC"):
        return "200 result=0", *ok
    if verb.startswith("HANGUP"):
        pbx.request(ch, 16)
        return "200 result=1", *ok
    return "510 Invalid or unknown command", "510", "Invalid or unknown command"


def _length(pbx: Pbx, name: str) -> float | None:
    return pbx.sounds.get(name, SOUNDS.get(name))


async def _play(pbx: Pbx, ch: Channel, length: float, escape: str) -> str | None:
    """Play for ``length`` seconds; the first key among ``escape`` pressed meanwhile stops it."""
    if not escape or length <= 0:
        await pbx.clock.sleep(length)
        return None
    ch.reading_dtmf = True
    try:
        deadline = asyncio.get_running_loop().time() + pbx.clock.real(length)
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                digit = await asyncio.wait_for(ch.dtmf.get(), left)
            except TimeoutError:
                return None
            if digit in escape:
                return digit
        return None
    finally:
        ch.reading_dtmf = False


async def _collect(pbx: Pbx, ch: Channel, timeout: float, limit: int, digits: str = "") -> tuple[str, bool]:
    """Digits until ``#``, ``limit`` digits, or ``timeout`` seconds without a key."""
    ch.reading_dtmf = True
    try:
        while len(digits) < limit:
            try:
                digit = await asyncio.wait_for(ch.dtmf.get(), pbx.clock.real(timeout))
            except TimeoutError:
                return digits, True
            if digit == "#":
                break
            digits += digit
        return digits, False
    finally:
        ch.reading_dtmf = False

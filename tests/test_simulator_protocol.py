"""AMI protocol of the simulator against the bytes of the real traces (banner, login, quirks, lists)."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from cti.ami.frames import iter_messages
from cti.simulator import PbxSimulator, SimConfig
from tests.sim_helpers import TRACES, exchange

VARIABLE = re.compile(r"^(Timestamp|Uptime|LastReload|EventTV|SessionTV|SessionID|LocalAddress|RemoteAddress|"
                      r"Uniqueid|Linkedid|LoginTime|LastCall|LastPause|Seconds|Duration): .*$", re.M)


def norm(data: bytes) -> str:
    return VARIABLE.sub(lambda m: m.group(1) + ": *", data.decode().replace("\r\n", "\n"))


def trace_reply(scenario: str, upto: str) -> bytes:
    data = (TRACES / f"{scenario}.ami.txt").read_bytes()
    return data[:data.index(upto.encode()) + len(upto)]


@pytest.fixture
async def sim(tmp_path):  # type: ignore[no-untyped-def]
    s = PbxSimulator(SimConfig.trace_local(speed=20, agi=None, recordings=tmp_path))
    await s.start()
    yield s
    await s.stop()


def test_given_non_loopback_host_then_config_refuses() -> None:
    with pytest.raises(ValueError):
        SimConfig(host="0.0.0.0")


async def test_given_bad_login_then_bytes_match_trace_and_socket_closes(sim: PbxSimulator) -> None:
    sent = (TRACES / "ami_bad_login.ami.sent.txt").read_bytes().split(b"\r\n\r\n")
    started = time.monotonic()
    got = await exchange(sim.port, [p + b"\r\n\r\n" for p in sent if p], wait=0.2)
    assert got == (TRACES / "ami_bad_login.ami.txt").read_bytes()
    assert time.monotonic() - started >= 1.0 / 20  # the failure comes after the (scaled) delay


async def test_given_login_ping_then_bytes_match_restart_trace_up_to_shutdown(sim: PbxSimulator) -> None:
    sent = [p + b"\r\n\r\n" for p in (TRACES / "asterisk_restart.ami.sent.txt").read_bytes().split(b"\r\n\r\n") if p]
    got = await exchange(sim.port, sent)
    assert norm(got) == norm(trace_reply("asterisk_restart", "Timestamp: 1795455337.198905\r\n\r\n"))


async def test_given_actions_session_then_protocol_quirks_match_trace(sim: PbxSimulator) -> None:
    actions = [b"Action: Login\r\nActionID: a-login\r\nUsername: cti\r\nSecret: cti-secret\r\nEvents: off\r\n\r\n",
               b"Action: NoSuchThing\r\nActionID: act-33\r\n\r\n",
               b"Action: Ping\r\n\r\n",
               b"action: ping\r\nactionid: lower-1\r\n\r\n",
               b"Action: Originate\r\nActionID: act-34\r\nChannel: Local/s@nowhere\r\nExten: s\r\n\r\n",
               b"Action: Getvar\r\nActionID: act-35\r\n\r\n",
               b"Action: Hangup\r\nActionID: act-32\r\nChannel: Local/nonexistent@x-00000000;1\r\n\r\n",
               b"Action: Redirect\r\nActionID: act-27\r\nChannel: Local/nonexistent@x-00000000;1\r\nContext: r\r\n"
               b"Exten: s\r\nPriority: 1\r\n\r\n",
               b"Action: QueueStatus\r\nActionID: act-4\r\nQueue: complaints\r\n\r\n",
               b"Action: QueueAdd\r\nActionID: act-25\r\nQueue: nosuchqueue\r\nInterface: Local/agent1003@agents\r\n\r\n",
               b"Action: QueueRemove\r\nActionID: act-24\r\nQueue: complaints\r\nInterface: Local/agent1003@agents\r\n\r\n",
               b"Action: Logoff\r\nActionID: act-40\r\n\r\n"]
    got = await exchange(sim.port, actions, wait=0.05)
    trace = norm((TRACES / "ami_actions.ami.txt").read_bytes())
    blocks = norm(got).split("\n\n")
    assert blocks[0].startswith("Asterisk Call Manager/11.0.0\nResponse: Success\nActionID: a-login")
    for block in blocks[3:]:
        if block.strip() and not block.startswith(("Event: QueueParams", "Event: QueueMember", "Event: Queue")):
            assert block + "\n\n" in trace, block
    # the list: start, one event per item carrying the ActionID, Complete with ListItems
    listing = [m for m in iter_messages(got) if m.action_id == "act-4"]
    assert [m.event or m.response for m in listing] == ["Success", "QueueParams", "QueueMember", "QueueMember",
                                                        "QueueStatusComplete"]
    assert listing[-1].get("ListItems") == "3"
    assert got.endswith(b"Response: Goodbye\r\nActionID: act-40\r\nMessage: Thanks for all the fish.\r\n\r\n")


async def test_given_core_show_version_then_output_header_like_trace(sim: PbxSimulator) -> None:
    got = await exchange(sim.port, [b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n",
                                    b"Action: Command\r\nActionID: v\r\nCommand: core show version\r\n\r\n"])
    reply = [m for m in iter_messages(got) if m.action_id == "v"][0]
    assert reply.get("Output", "").startswith("Asterisk 22.10.1 built by root")


async def test_given_restart_then_shutdown_drop_refuse_and_uptime_zero(sim: PbxSimulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await reader.read(100)
    writer.write(b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n")
    await asyncio.sleep(0.05)
    restarting = asyncio.create_task(sim.restart())
    data = b""
    while chunk := await reader.read(65536):
        data += chunk
    assert data.endswith(b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: True\r\n\r\n")
    r2, w2 = await asyncio.open_connection("127.0.0.1", sim.port)  # accepted, then dropped without a banner
    assert await r2.read(100) == b""
    w2.close()
    await asyncio.sleep(0.1)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", sim.port)
    await restarting
    got = await exchange(sim.port, [b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n"])
    booted = [m for m in iter_messages(got) if m.event == "FullyBooted"][0]
    assert booted.get("Uptime") == "0"


async def test_given_replay_mode_then_client_receives_recorded_bytes_verbatim() -> None:
    from cti.simulator.replay import ReplayServer
    server = ReplayServer(TRACES / "ami_bad_login.ami.jsonl", speed=10)
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    await server.stop()
    assert got == (TRACES / "ami_bad_login.ami.txt").read_bytes()


async def test_given_mixmonitor_then_wav_written_and_filename_varset(sim: PbxSimulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import wave
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await reader.read(100)
    writer.write(b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n"
                 b"Action: Originate\r\nActionID: o\r\nChannel: Local/hold@caller-sim\r\nContext: hold-line\r\n"
                 b"Exten: s\r\nPriority: 1\r\nAsync: true\r\n\r\n")
    await asyncio.sleep(0.1)
    name = next(n for n in sim.pbx.channels if n.endswith(";1"))
    writer.write(f"Action: MixMonitor\r\nActionID: m\r\nChannel: {name}\r\nFile: rec.wav\r\n\r\n".encode())
    await asyncio.sleep(0.1)
    writer.write(f"Action: StopMixMonitor\r\nActionID: s\r\nChannel: {name}\r\n\r\n".encode())
    await asyncio.sleep(0.2)
    data = await reader.read(1 << 20)
    writer.close()
    path = sim.config.recordings / "rec.wav"
    assert f"Variable: MIXMONITOR_FILENAME\r\nValue: {path.resolve()}".encode() in data
    assert b"Event: MixMonitorStart" in data and b"Event: MixMonitorStop" in data
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000 and wav.getnchannels() == 1 and wav.getnframes() > 0


async def test_given_mixmonitor_when_channel_hangs_up_then_wav_written_without_stop_event(
        sim: PbxSimulator) -> None:
    import wave
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await reader.read(100)
    writer.write(b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n"
                 b"Action: Originate\r\nActionID: o\r\nChannel: Local/hold@caller-sim\r\nContext: hold-line\r\n"
                 b"Exten: s\r\nPriority: 1\r\nAsync: true\r\n\r\n")
    await asyncio.sleep(0.1)
    name = next(n for n in sim.pbx.channels if n.endswith(";1"))
    writer.write(f"Action: MixMonitor\r\nActionID: m\r\nChannel: {name}\r\nFile: held.wav\r\n\r\n".encode())
    await asyncio.sleep(0.1)  # two simulated seconds
    writer.write(f"Action: Hangup\r\nActionID: h\r\nChannel: {name}\r\n\r\n".encode())
    await asyncio.sleep(0.1)
    await sim.recorder.flush()
    data = await reader.read(1 << 20)
    writer.close()
    assert b"Event: MixMonitorStart" in data and b"Event: MixMonitorStop" not in data  # as Asterisk: none on hangup
    with wave.open(str(sim.config.recordings / "held.wav")) as wav:
        assert 1.0 < wav.getnframes() / 8000 < 4.0


async def test_given_atxfer_then_answers_like_manager_c(sim: PbxSimulator) -> None:
    got = await exchange(sim.port, [
        b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nEvents: off\r\n\r\n",
        b"Action: Atxfer\r\nActionID: x1\r\nChannel: PJSIP/1001-00000009\r\nExten: 1002\r\nContext: transfer\r\n\r\n",
        b"Action: Atxfer\r\nActionID: x2\r\nChannel: PJSIP/1001-00000009\r\n\r\n",
        b"Action: Atxfer\r\nActionID: x3\r\nExten: 1002\r\n\r\n"], wait=0.05)
    replies = {m.action_id: (m.response, m.get("Message")) for m in iter_messages(got) if m.response}
    assert replies["x1"] == ("Error", "Channel specified does not exist")
    assert replies["x2"] == ("Error", "No extension specified")
    assert replies["x3"] == ("Error", "No channel specified")

"""cti/ami/frames.py against real Asterisk 22 traffic (tests/data/asterisk-traces) and hostile input.

The golden checks use the recorded bytes as ground truth: every ``\\r\\n\\r\\n`` in a trace ends one message, and
every ``Event:`` line is one event, in order. Chunking and fuzz properties make sure the decoder gives the
same answer however TCP splits the stream and that garbage never wedges it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ami.frames import MAX_FRAME_BYTES, AmiMessage, FrameDecoder, UnsafeHeader, encode_action, iter_messages

TRACES = Path(__file__).parent / "data" / "asterisk-traces"
TEXT_TRACES = sorted(p.name for p in TRACES.glob("*.ami.txt"))
JSONL_TRACES = sorted(p.name for p in TRACES.glob("*.ami.jsonl"))
BANNER = "Asterisk Call Manager/11.0.0"
PING = b"Event: Ping\r\nX: 1\r\n\r\n"
TRACE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def trace_bytes(name: str) -> bytes:
    return (TRACES / name).read_bytes()


@cache
def golden(name: str) -> list[AmiMessage]:
    return list(iter_messages(trace_bytes(name)))


def shape(messages: list[AmiMessage]) -> list[tuple[dict[str, str], dict[str, list[str]]]]:
    return [(m.fields, m.repeated) for m in messages]


def by_action_id(name: str, action_id: str) -> list[AmiMessage]:
    return [m for m in golden(name) if m.action_id == action_id]


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[AmiMessage]:
    out: list[AmiMessage] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


# --- golden: the recorded traces ---------------------------------------------------------------------


@pytest.mark.parametrize("name", TEXT_TRACES)
def test_given_a_trace_when_decoded_then_one_message_per_blank_line_and_the_banner(name: str) -> None:
    data = trace_bytes(name)
    decoder = FrameDecoder()
    messages = decoder.feed(data)
    assert len(messages) == data.count(b"\r\n\r\n")
    assert decoder.dropped_frames == 0
    assert data.startswith(BANNER.encode() + b"\r\n")  # every connection that received bytes got one
    assert decoder.banner == BANNER


@pytest.mark.parametrize("name", TEXT_TRACES)
def test_given_a_trace_when_decoded_then_every_header_line_is_kept(name: str) -> None:
    data = trace_bytes(name).split(b"\r\n", 1)[1]
    lines = sum(frame.count(b"\r\n") + 1 for frame in data.split(b"\r\n\r\n")[:-1])
    kept = sum(len(m.fields) + sum(map(len, m.repeated.values())) for m in golden(name))
    assert kept == lines


@pytest.mark.parametrize("name", TEXT_TRACES)
def test_given_a_trace_when_decoded_then_event_order_matches_the_raw_event_lines(name: str) -> None:
    raw = [e.decode() for e in re.findall(rb"(?m)^Event: ([^\r\n]*)\r$", trace_bytes(name))]
    assert [m.event for m in golden(name) if m.event is not None] == raw
    assert raw or name == "ami_bad_login.ami.txt"  # never logged in, so no events; elsewhere not vacuous


def test_given_command_core_show_version_when_decoded_then_one_output_line() -> None:
    (reply,) = by_action_id("ami_actions.ami.txt", "act-28")
    assert reply.response == "Success" and reply.get("Message") == "Command output follows"
    assert len(reply.getall("Output")) == 1
    assert reply.getall("Output")[0].startswith("Asterisk 22.10.1 built by")


def test_given_command_queue_show_when_decoded_then_all_output_lines_in_order_with_blanks() -> None:
    (reply,) = by_action_id("ami_actions.ami.txt", "act-29")
    output = reply.getall("Output")
    assert len(output) == 7
    assert output[0].startswith("complaints has 0 calls (max unlimited) in 'ringall' strategy")
    assert output[1] == "   Members: "  # CLI indentation survives: only ": " after the name is a separator
    assert output[2].startswith("      Agent 1001 (Local/agent1001@agents)")
    assert output[4] == "   No Callers"
    assert output[5:] == ["", ""]  # blank CLI lines come as "Output: "


def test_given_a_bad_cli_command_when_decoded_then_error_with_output() -> None:
    (reply,) = by_action_id("ami_actions.ami.txt", "act-30")
    assert reply.response == "Error"
    assert reply.getall("Output") == [
        "No such command 'no such cli command' (type 'core show help no such' for other possible commands)"
    ]


def test_given_status_list_when_decoded_then_complete_event_has_list_items_and_items() -> None:
    messages = by_action_id("ami_actions.ami.txt", "act-7")
    assert messages[0].get("EventList") == "start"
    assert [m.event for m in messages[1:]] == ["Status", "Status", "StatusComplete"]
    complete = messages[-1]
    assert complete.get("EventList") == "Complete"
    assert complete.get("ListItems") == "2" and complete.get("Items") == "2"
    assert list(messages[1].fields)[-1] == "ActionID"  # Status puts it last; order of headers is kept
    assert messages[1].get("Privilege") == "Call"


def test_given_busy_callee_when_decoded_then_originate_response_failure_reason_5() -> None:
    (failure,) = [m for m in golden("outbound_busy.ami.txt") if m.event == "OriginateResponse"]
    assert failure.get("Response") == "Failure"
    assert failure.get("Reason") == "5"
    assert failure.get("Uniqueid") == "<unknown>"
    assert failure.get("Channel") == "Local/13800000002@callee-busy"
    assert failure.action_id == "outbound_busy-orig"


def test_given_ringall_queue_when_decoded_then_the_duplicate_dialend_cancel_appears_twice() -> None:
    cancels = [
        m
        for m in golden("inbound_ivr_queue_answered.ami.txt")
        if m.event == "DialEnd" and m.get("DialStatus") == "CANCEL"
    ]
    assert len(cancels) == 2
    assert cancels[0].fields == cancels[1].fields
    assert cancels[0].get("DestChannel", "").startswith("Local/agent1002@agents-")


def test_given_pings_without_and_with_lowercase_action_id_when_decoded_then_ids_as_asterisk_sent() -> None:
    pongs = [m for m in golden("ami_actions.ami.txt") if m.get("Ping") == "Pong"]
    assert [m.action_id for m in pongs] == ["act-1", None, "lower-1", "act-37"]


def test_given_an_unknown_action_when_decoded_then_message_keeps_colons_in_the_value() -> None:
    (reply,) = by_action_id("ami_actions.ami.txt", "act-33")
    assert reply.get("Message") == (
        "Invalid/unknown command: NoSuchThing. Use Action: ListCommands to show available commands."
    )


# --- chunking ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", JSONL_TRACES)
def test_given_recorded_tcp_chunks_when_fed_one_by_one_then_same_messages_as_the_whole_stream(name: str) -> None:
    rows = [json.loads(line) for line in (TRACES / name).read_text().splitlines()]
    chunks = [r["data"].encode() for r in rows if r["dir"] == "rx"]
    decoder = FrameDecoder()
    assert shape(feed_all(decoder, chunks)) == shape(list(iter_messages(b"".join(chunks))))
    assert decoder.dropped_frames == 0


@TRACE_SETTINGS
@given(name=st.sampled_from(TEXT_TRACES), cuts=st.lists(st.integers(min_value=0, max_value=80_000), max_size=60))
def test_given_a_trace_when_split_anywhere_then_same_messages(name: str, cuts: list[int]) -> None:
    chunks = split_at(trace_bytes(name), cuts)
    assert shape(feed_all(FrameDecoder(), chunks)) == shape(golden(name))


def test_given_utf8_caller_name_when_split_inside_a_character_then_decoded_intact() -> None:
    data = "Event: Newcallerid\r\nCallerIDName: 张三\r\nCause: 投诉\r\n\r\n".encode()
    for cut in range(len(data) + 1):
        (message,) = feed_all(FrameDecoder(expect_banner=False), [data[:cut], data[cut:]])
        assert message.fields == {"Event": "Newcallerid", "CallerIDName": "张三", "Cause": "投诉"}


# --- fuzz --------------------------------------------------------------------------------------------

GARBAGE = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"\r\n", b"\r\n\r\n", b"\r", b"\n", b":", b": ", b"Event: ", b"\xff\xfe", b"\xe4\xb8"]),
        st.sampled_from([b"Asterisk Call Manager/1.0\r\n", b"Output:", b"ActionID: x\r\n"]),
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(
    garbage=GARBAGE,
    cuts=st.lists(st.integers(min_value=0, max_value=2_000), max_size=12),
    expect_banner=st.booleans(),
    max_frame=st.sampled_from([32, 100, MAX_FRAME_BYTES]),
)
def test_given_garbage_in_random_chunks_when_a_terminator_follows_then_the_next_frame_is_decoded(
    garbage: bytes, cuts: list[int], expect_banner: bool, max_frame: int
) -> None:
    decoder = FrameDecoder(expect_banner=expect_banner, max_frame=max_frame)
    for message in feed_all(decoder, split_at(garbage, cuts)):
        assert message.fields  # a message is never empty; headerless frames are dropped instead
    tail = decoder.feed(b"\r\n\r\n" + PING)
    assert tail and tail[-1].fields == {"Event": "Ping", "X": "1"}
    assert decoder.feed(PING)[0].fields == {"Event": "Ping", "X": "1"}


# --- bounded memory ----------------------------------------------------------------------------------

CHUNK = 64 * 1024
HUGE_LINE = b"X-Huge: " + b"a" * (1024 * 1024)


@pytest.mark.parametrize("banner", [b"", b"Asterisk Call Manager/11.0.0\r\n"])
def test_given_a_1mb_header_line_in_64kb_chunks_when_fed_then_dropped_with_bounded_buffer(banner: bytes) -> None:
    decoder = FrameDecoder(expect_banner=bool(banner))
    assert decoder.feed(banner + b"Event: Before\r\n\r\n")[0].event == "Before"
    for start in range(0, len(HUGE_LINE), CHUNK):
        assert decoder.feed(HUGE_LINE[start : start + CHUNK]) == []
        assert len(decoder._buf) <= MAX_FRAME_BYTES + CHUNK
    messages = decoder.feed(b"\r\n\r\n" + PING)
    assert [m.fields for m in messages] == [{"Event": "Ping", "X": "1"}]
    assert decoder.dropped_frames == 1


def test_given_a_1mb_frame_in_one_read_when_fed_then_dropped_and_neighbours_kept() -> None:
    decoder = FrameDecoder(expect_banner=False)
    messages = decoder.feed(b"Event: Before\r\n\r\n" + HUGE_LINE + b"\r\n\r\n" + PING)
    assert [m.event for m in messages] == ["Before", "Ping"]
    assert decoder.dropped_frames == 1


def test_given_a_peer_that_never_sends_crlf_when_expecting_the_banner_then_buffer_stays_bounded() -> None:
    # feed() returns early while looking for the banner's CRLF, before the max_frame check, so a peer that is
    # not AMI (wrong port, TLS, HTTP) makes the decoder hold everything it sends: 1 MB here, unbounded in general.
    decoder = FrameDecoder()
    for start in range(0, len(HUGE_LINE), CHUNK):
        decoder.feed(HUGE_LINE[start : start + CHUNK])
    assert len(decoder._buf) <= MAX_FRAME_BYTES + CHUNK


def test_given_a_frame_of_max_size_when_its_terminator_is_split_then_it_is_still_decoded() -> None:
    # The size check counts the buffered partial terminator ("\r\n" of "\r\n\r\n") as frame bytes, so a frame
    # of max_frame - 2 .. max_frame bytes is decoded in one read but dropped when a read ends inside the
    # terminator. Whole: decoded. Split after "\r\n": dropped_frames == 1 and the message is lost.
    frame = b"Event: Ping\r\nX: 1234"
    whole = FrameDecoder(expect_banner=False, max_frame=len(frame))
    assert [m.fields for m in whole.feed(frame + b"\r\n\r\n")] == [{"Event": "Ping", "X": "1234"}]
    split = FrameDecoder(expect_banner=False, max_frame=len(frame))
    assert [m.fields for m in feed_all(split, [frame + b"\r\n", b"\r\n"])] == [{"Event": "Ping", "X": "1234"}]


# --- encode_action -----------------------------------------------------------------------------------


def test_given_an_originate_when_encoded_then_exact_bytes_and_repeated_variables_in_order() -> None:
    headers = [("Channel", "Local/13800000001@callee-answer"), ("Variable", "CAMPAIGN_ID=camp-42")]
    headers += [("Variable", "LEAD_ID=lead-7"), ("Async", "true")]
    data = encode_action("Originate", "o-1", headers)
    assert data == (
        b"Action: Originate\r\nActionID: o-1\r\nChannel: Local/13800000001@callee-answer\r\n"
        b"Variable: CAMPAIGN_ID=camp-42\r\nVariable: LEAD_ID=lead-7\r\nAsync: true\r\n\r\n"
    )
    (message,) = FrameDecoder(expect_banner=False).feed(data)
    assert message.fields["Action"] == "Originate" and message.action_id == "o-1"
    assert message.getall("Variable") == ["CAMPAIGN_ID=camp-42", "LEAD_ID=lead-7"]


def test_given_no_action_id_when_encoded_then_no_action_id_header() -> None:
    assert encode_action("Ping", None) == b"Action: Ping\r\n\r\n"


def test_given_chinese_values_when_encoded_then_utf8_survives_the_round_trip() -> None:
    data = encode_action("Setvar", "s-1", [("Variable", "CUSTOMER_NAME"), ("Value", "张三 投诉")])
    assert "张三 投诉".encode() in data
    (message,) = iter_messages(data, expect_banner=False)
    assert message.get("Value") == "张三 投诉"


@pytest.mark.parametrize(
    ("name", "action_id", "headers"),
    [
        ("Setvar", "s-1", [("Value", "x\r\nAction: Hangup")]),
        ("Setvar", "s-1", [("Value", "x\nAction: Hangup")]),
        ("Setvar", "s-1", [("Value", "x\r")]),
        ("Setvar", "s-1", [("Va\r\nlue", "x")]),
        ("Setvar", "s-1", [("Value: x\r\nChannel", "y")]),
        ("Ping\r\nAction: Hangup", "s-1", []),
        ("Ping", "s-1\r\nChannel: SIP/1", []),
    ],
)
def test_given_cr_or_lf_anywhere_when_encoding_then_unsafe_header(
    name: str, action_id: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(UnsafeHeader):
        encode_action(name, action_id, headers)


SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    headers=st.lists(
        st.tuples(SAFE_TEXT.filter(lambda k: k != "" and ":" not in k), SAFE_TEXT),
        max_size=8,
    )
)
def test_given_safe_headers_when_encoded_then_decoding_gives_every_value_in_order(
    headers: list[tuple[str, str]],
) -> None:
    (message,) = iter_messages(encode_action("UserEvent", "u-1", headers), expect_banner=False)
    for key in {k for k, _ in headers} - {"Action", "ActionID"}:
        assert message.getall(key) == [v for k, v in headers if k == key]

"""AMI framing: bytes from the socket into messages, actions into bytes.

Why not panoramisk's parser: it decodes the stream as ASCII dropping what it cannot read (a Chinese
caller name or IVR variable vanishes), keeps only the last of repeated headers unless told the
action in advance (``Command`` output comes as one ``Output:`` header per line), and has no bound on
a frame that never ends. This decoder is incremental, keeps every header in order, decodes UTF-8
with replacement, and drops an oversized or malformed frame with a log line instead of stalling.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger("lianluo.cti.ami")

EOL = b"\r\n"
END = b"\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
MAX_FRAME_BYTES = 256 * 1024  # a real frame is a few KB; this bounds what a broken peer can make us hold


@dataclass(slots=True)
class AmiMessage:
    """One AMI message. ``fields`` holds the first value of each header; ``repeated`` the rest."""

    fields: dict[str, str]
    repeated: dict[str, list[str]] = field(default_factory=dict)
    received_at: float = 0.0  # perf_counter() when the read that completed it returned (for latency figures)

    @property
    def event(self) -> str | None:
        return self.fields.get("Event")

    @property
    def response(self) -> str | None:
        return self.fields.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.fields.get("ActionID")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.fields.get(key, default)

    def getall(self, key: str) -> list[str]:
        """Every value of a header that may repeat (``Output`` of Command, ``Variable`` of Originate)."""
        if key not in self.fields:
            return []
        return [self.fields[key], *self.repeated.get(key, ())]


def parse_frame(frame: bytes) -> AmiMessage | None:
    """One frame (without its blank line) into a message; None if no line in it is a header."""
    fields: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for raw in frame.split(EOL):
        key, sep, value = raw.partition(b": ")
        if not sep or not key:
            key, sep, value = raw.partition(b":")  # "Output:" for an empty line of command output
            if not sep or not key:
                continue
        name = key.decode("utf-8", "replace")
        text = value.decode("utf-8", "replace")
        if name in fields:
            repeated.setdefault(name, []).append(text)
        else:
            fields[name] = text
    return AmiMessage(fields, repeated) if fields else None


class FrameDecoder:
    """Incremental decoder. Feed it what the socket gives; it returns complete messages in order.

    The buffer is bounded: a banner line or a frame longer than ``max_frame`` is dropped (logged and
    counted) and decoding resumes after the next blank line. Each read is scanned once, so tiny reads
    of a large frame cost linear time.
    """

    def __init__(self, *, expect_banner: bool = True, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._expect_banner = expect_banner
        self._max_frame = max_frame
        self._skipping = False
        self.banner: str | None = None
        self.dropped_frames = 0

    @property
    def awaiting_banner(self) -> bool:
        """True until the first line has arrived (whether or not it was Asterisk's banner)."""
        return self._expect_banner

    def _drop(self, what: str) -> None:
        log.warning("AMI %s over %d bytes; skipping to the next message", what, self._max_frame)
        self.dropped_frames += 1
        self._skipping = True
        del self._buf[:-3]  # keep a terminator that may straddle two reads

    def feed(self, data: bytes) -> list[AmiMessage]:
        # Up to 3 bytes of a "\r\n\r\n" split across reads may sit at the buffer's end: scan from there.
        scan_from = max(0, len(self._buf) - 3)
        self._buf += data
        if self._expect_banner:
            line_end = self._buf.find(EOL)
            if line_end < 0:
                if len(self._buf) > self._max_frame:
                    self._expect_banner = False  # no banner is coming: whatever this is, it is not AMI
                    self._drop("first line")
                return []
            first = bytes(self._buf[:line_end]).decode("utf-8", "replace")
            if first.startswith(BANNER_PREFIX):
                self.banner = first
                del self._buf[:line_end + 2]
            self._expect_banner = False
            scan_from = 0
        if self._skipping:
            end = self._buf.find(END, scan_from)
            if end < 0:
                del self._buf[:-3]
                return []
            del self._buf[:end + 4]
            self._skipping = False
            scan_from = 0
        if self._buf.find(END, scan_from) < 0:
            if len(self._buf) > self._max_frame + 3:  # + a terminator's first bytes
                self._drop("frame")
            return []
        *frames, rest = bytes(self._buf).split(END)
        self._buf = bytearray(rest)
        if len(rest) > self._max_frame + 3:
            self._drop("frame")
        out = []
        for frame in frames:
            if len(frame) > self._max_frame:
                log.warning("AMI frame of %d bytes dropped (limit %d)", len(frame), self._max_frame)
                self.dropped_frames += 1
                continue
            message = parse_frame(frame.strip(EOL)) if frame else None
            if message is None:
                if frame.strip():
                    log.warning("AMI frame without headers dropped: %r", frame[:80])
                    self.dropped_frames += 1
                continue
            out.append(message)
        return out


class UnsafeHeader(ValueError):
    """A header name or value that would break the frame (CR/LF injection)."""


def encode_action(name: str, action_id: str | None, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """An action as AMI expects it. Headers may repeat (``Variable`` of Originate)."""
    lines = [("Action", name)]
    if action_id is not None:
        lines.append(("ActionID", action_id))
    lines.extend(headers)
    out = []
    for key, value in lines:
        text = f"{key}: {value}"
        if "\r" in text or "\n" in text or ":" in key:
            raise UnsafeHeader(f"header {key!r} would break the AMI frame")
        out.append(text)
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8")


def iter_messages(data: bytes, *, expect_banner: bool = True) -> Iterator[AmiMessage]:
    """All messages of a complete byte stream (a recorded trace, a test)."""
    decoder = FrameDecoder(expect_banner=expect_banner)
    yield from decoder.feed(data)

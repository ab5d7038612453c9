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
        if not sep:
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
    """Incremental decoder. Feed it what the socket gives; it returns complete messages in order."""

    def __init__(self, *, expect_banner: bool = True, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buf = b""
        self._expect_banner = expect_banner
        self._max_frame = max_frame
        self._skipping = False
        self.banner: str | None = None
        self.dropped_frames = 0

    @property
    def awaiting_banner(self) -> bool:
        """True until the first line has arrived (whether or not it was Asterisk's banner)."""
        return self._expect_banner

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buf + data if self._buf else data
        if self._expect_banner:
            line_end = buf.find(EOL)
            if line_end < 0:
                self._buf = buf
                return []
            first = buf[:line_end].decode("utf-8", "replace")
            if first.startswith(BANNER_PREFIX):
                self.banner = first
                buf = buf[line_end + 2:]
            self._expect_banner = False
        if self._skipping:
            end = buf.find(END)
            if end < 0:
                self._buf = buf[-3:]  # the terminator may straddle two reads
                return []
            buf = buf[end + 4:]
            self._skipping = False
        *frames, rest = buf.split(END)
        if len(rest) > self._max_frame:
            log.warning("AMI frame over %d bytes without an end; skipping to the next message", self._max_frame)
            self.dropped_frames += 1
            self._skipping = True
            rest = rest[-3:]
        self._buf = rest
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

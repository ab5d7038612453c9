"""The file side of attachments: receiving a multipart upload straight to disk while hashing it, the
virus-scan hook, and the content-addressed store (``<root>/<sha256[:2]>/<sha256>``).

An upload never sits in memory whole: the request stream is parsed part by part, the file's bytes are
written (and hashed) in a worker thread as they arrive, and reading stops at the size limit. The file
lands in a temporary name inside the store's root, is checked there, and only then moved into place with
``os.replace`` — so the store holds nothing unchecked, and a file already stored under the same hash is
kept as it is (deduplication).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shlex
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from backend.core.problems import DomainError, Invalid, Unavailable

SCAN_TIMEOUT_SECONDS = 60.0
_FLUSH_BYTES = 256 * 1024
_MAX_FIELD_BYTES = 1024
_MAX_FIELDS = 8


class TooLarge(DomainError):
    status, title, code = 413, "附件过大", "attachment-too-large"


class UnsupportedType(DomainError):
    status, title, code = 415, "不支持的文件类型", "unsupported-attachment-type"


class Infected(Invalid):
    title, code = "文件未通过病毒扫描", "virus-scan-failed"


class ScannerUnavailable(Unavailable):
    title, code = "病毒扫描暂不可用，请稍后重试", "virus-scan-unavailable"


@dataclass
class Upload:
    """A received file, in a temporary place, with what the client said about it."""

    path: Path
    size: int
    sha256: str
    raw_name: str
    fields: dict[str, str] = field(default_factory=dict)

    async def discard(self) -> None:
        await asyncio.to_thread(_unlink, self.path)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _open_temp(root: Path) -> tuple[IO[bytes], Path]:
    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root, prefix=".upload-")
    return os.fdopen(fd, "wb"), Path(name)


def _write(fh: IO[bytes], hasher: hashlib._Hash, data: bytes) -> None:
    fh.write(data)
    hasher.update(data)


def _finish(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


class _Parts:
    """python-multipart callbacks, collecting one file part and a few small text fields."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.pending = bytearray()  # file bytes received but not yet written
        self.fields: dict[str, str] = {}
        self.raw_name: str | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._data,
                "on_part_end": self._end}

    def _begin(self) -> None:
        self._headers, self._value, self._is_file = {}, bytearray(), False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self.raw_name is not None:
                raise Invalid("每次只能上传一个文件", errors=[{"field": "file", "type": "too_many",
                                                              "message": "每次只能上传一个文件"}])
            self._is_file = True
            self.raw_name = options[b"filename"].decode("utf-8", "replace")
        elif len(self.fields) >= _MAX_FIELDS:
            raise Invalid("表单字段过多")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            self._value += data[start:end]
            if len(self._value) > _MAX_FIELD_BYTES:
                raise Invalid(f"字段 {self._name} 过长", errors=[{"field": self._name, "type": "string_too_long",
                                                                  "message": "内容过长"}])
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise TooLarge(f"附件超过 {self.max_bytes} 字节上限")
        self.pending += data[start:end]

    def _end(self) -> None:
        if not self._is_file:
            self.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive(content_type: str, stream: AsyncIterator[bytes], root: Path, max_bytes: int) -> Upload:
    """Parse a ``multipart/form-data`` body with one file part (any field name) into a temporary file
    under ``root``. Raises TooLarge past ``max_bytes`` of file content without reading further."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedType("请以 multipart/form-data 方式上传文件")
    parts = _Parts(max_bytes)
    parser = MultipartParser(params[b"boundary"], parts.callbacks())  # type: ignore[arg-type]
    fh, path = await asyncio.to_thread(_open_temp, root)
    hasher = hashlib.sha256()
    try:
        async for chunk in stream:
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise Invalid("上传内容不是有效的 multipart/form-data") from exc
            if len(parts.pending) >= _FLUSH_BYTES:
                data, parts.pending = bytes(parts.pending), bytearray()
                await asyncio.to_thread(_write, fh, hasher, data)
        try:
            parser.finalize()
        except FormParserError as exc:
            raise Invalid("上传内容不完整") from exc
        await asyncio.to_thread(_write, fh, hasher, bytes(parts.pending))
        await asyncio.to_thread(_finish, fh)
    except BaseException:
        await asyncio.to_thread(fh.close)
        await asyncio.to_thread(_unlink, path)
        raise
    upload = Upload(path=path, size=parts.size, sha256=hasher.hexdigest(), raw_name=parts.raw_name or "",
                    fields=parts.fields)
    if parts.raw_name is None or parts.size == 0:
        await upload.discard()
        message = "未收到文件" if parts.raw_name is None else "文件为空"
        raise Invalid(message, errors=[{"field": "file", "type": "missing", "message": message}])
    return upload


async def scan(command: str, path: Path, timeout: float = SCAN_TIMEOUT_SECONDS) -> None:
    """Run the configured scanner on ``path``: exit 0 = clean. ``{path}`` in the command is replaced
    after splitting (a path with spaces stays one argument); without it, the path is the last argument."""
    argv = shlex.split(command)
    if any("{path}" in arg for arg in argv):
        argv = [arg.replace("{path}", str(path)) for arg in argv]
    else:
        argv.append(str(path))
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
    except OSError as exc:
        raise ScannerUnavailable("病毒扫描程序无法启动，请联系管理员") from exc
    try:
        returncode = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ScannerUnavailable("病毒扫描超时，请稍后重试") from None
    if returncode != 0:
        raise Infected("文件未通过病毒扫描")


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def _place(temp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # the same bytes are stored already
        _unlink(temp)
        return
    os.replace(temp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


async def place(upload: Upload, root: Path) -> Path:
    """Move a checked upload into the store under its hash."""
    target = stored_path(root, upload.sha256)
    await asyncio.to_thread(_place, upload.path, target)
    return target

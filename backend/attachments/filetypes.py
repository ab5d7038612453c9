"""What a file is, judged by its content (magic bytes), and whether its name agrees; safe file names.

Synchronous and file-reading: callers run :func:`detect` in a thread.
"""

from __future__ import annotations

import codecs
import mmap
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# type → (MIME type served on download, the file-name extensions that may carry it)
TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "pdf": ("application/pdf", frozenset({"pdf"})),
    "jpg": ("image/jpeg", frozenset({"jpg", "jpeg", "jpe"})),
    "png": ("image/png", frozenset({"png"})),
    "gif": ("image/gif", frozenset({"gif"})),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", frozenset({"docx"})),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", frozenset({"xlsx"})),
    "doc": ("application/msword", frozenset({"doc"})),
    "xls": ("application/vnd.ms-excel", frozenset({"xls"})),
    "txt": ("text/plain", frozenset({"txt", "text", "csv", "log"})),
    "wav": ("audio/wav", frozenset({"wav"})),
    "mp3": ("audio/mpeg", frozenset({"mp3"})),
    "mp4": ("video/mp4", frozenset({"mp4", "m4a", "m4v"})),
    "zip": ("application/zip", frozenset({"zip"})),
}
TYPE_LABELS = {"pdf": "PDF", "jpg": "JPEG 图片", "png": "PNG 图片", "gif": "GIF 图片", "docx": "Word 文档",
               "xlsx": "Excel 表格", "doc": "Word 97-2003 文档", "xls": "Excel 97-2003 表格", "txt": "纯文本",
               "wav": "WAV 音频", "mp3": "MP3 音频", "mp4": "MP4 视频", "zip": "ZIP 压缩包"}

_HEAD = 4096
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OLE directory entries name their streams in UTF-16LE.
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_EXCEL_STREAMS = ("Workbook".encode("utf-16-le"), "Book\x00".encode("utf-16-le"))
_TEXT_CONTROLS = set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A}


@dataclass(frozen=True)
class Detected:
    type: str  # a key of TYPES, or "" when the content is none of them
    content_type: str


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a known version and layer III, a usable bitrate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer, bitrate = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3, head[2] >> 4
    return version != 1 and layer == 1 and bitrate not in (0, 15) and (head[2] >> 2) & 0x3 != 3


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return "docx"
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def _ole_kind(path: Path) -> str:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data.find(_WORD_STREAM) >= 0:
            return "doc"
        if any(data.find(name) >= 0 for name in _EXCEL_STREAMS):
            return "xls"
    return ""


def _text_charset(path: Path) -> str:
    """'utf-8' or 'gbk' when the whole file decodes as such text, else ''."""
    for charset in ("utf-8", "gbk"):
        decoder = codecs.getincrementaldecoder(charset)(errors="strict")
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    if any(byte in _TEXT_CONTROLS for byte in chunk[:_HEAD]) or b"\x00" in chunk:
                        return ""
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return charset
        except UnicodeDecodeError:
            continue
    return ""


def detect(path: Path) -> Detected:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    kind = ""
    if head.startswith(b"%PDF-"):
        kind = "pdf"
    elif head.startswith(b"\xff\xd8\xff"):
        kind = "jpg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        kind = "gif"
    elif head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        kind = _zip_kind(path)
    elif head.startswith(_OLE):
        kind = _ole_kind(path)
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind = "wav"
    elif head.startswith(b"ID3") or _mp3_frame(head):
        kind = "mp3"
    elif head[4:8] == b"ftyp":
        kind = "mp4"
    elif head and (charset := _text_charset(path)):
        return Detected("txt", f"text/plain; charset={charset}")
    return Detected(kind, TYPES[kind][0] if kind else "application/octet-stream")


def extension(file_name: str) -> str:
    stem, dot, ext = file_name.rpartition(".")
    return ext.lower() if dot and stem else ""


def name_agrees(file_name: str, detected_type: str) -> bool:
    """A name without an extension says nothing; one with an extension must be one of the type's."""
    ext = extension(file_name)
    return not ext or ext in TYPES[detected_type][1]


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;&%$`\'{}\[\]]')


def safe_file_name(raw: str, max_length: int = 200) -> str:
    """The original name without folders, control characters, or characters that mean something to a shell,
    a browser or a header; shortened from the middle so the extension survives."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return "附件"
    if len(name) > max_length:
        ext = extension(name)
        keep = max_length - len(ext) - 1 if ext else max_length
        name = name[:keep] + (f".{ext}" if ext else "")
    return name


def content_disposition(file_name: str) -> str:
    """RFC 6266 with an RFC 5987 ``filename*`` for the real (UTF-8) name and an ASCII fallback for old clients."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"

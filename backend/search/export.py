"""XLSX export of any list: columns with Chinese headers, rows appended chunk by chunk to a write-only workbook
in a temporary file (bounded memory; openpyxl runs in a thread), then streamed as a download.

Values are written as users read them: datetimes in Beijing time, booleans as 是/否, lists joined. Text that
Excel would take for a formula is stored as text, and characters XLSX cannot hold are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Generic, TypeVar
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.responses import StreamingResponse

from backend.core.problems import Invalid
from backend.tickets.numbering import SHANGHAI

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000  # per export; more is refused (422) rather than cut short
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

R = TypeVar("R")


@dataclass(frozen=True)
class Column(Generic[R]):
    header: str
    value: Callable[[R], Any]
    width: int = 16


class TooManyRows(Invalid):
    title, code = "导出行数超过上限", "export-too-large"


def check_size(count: int, cap: int) -> None:
    """422 if a list of ``count`` rows (counted up to ``cap + 1``) is larger than an export may be."""
    if count > cap:
        raise TooManyRows(f"符合条件的记录超过 {cap} 行，请缩小筛选范围后再导出", limit=cap)


def cell_value(value: Any) -> tuple[Any, str | None]:
    """(what to store, its number format) for one value."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return ("是" if value else "否"), None
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI) if value.tzinfo else value
        return local.replace(tzinfo=None, microsecond=0), DATETIME_FORMAT
    if isinstance(value, date):
        return value, "yyyy-mm-dd"
    if isinstance(value, int | float):
        return value, None
    if isinstance(value, list | tuple):
        value = "、".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value)), None


class XlsxWriter(Generic[R]):
    """One sheet being written. ``append`` as often as needed, then ``response`` (or ``discard``)."""

    def __init__(self, columns: Sequence[Column[R]], title: str = "导出") -> None:
        self.columns = columns
        self.rows = 0
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title[:31])
        for i, column in enumerate(columns, start=1):
            self._sheet.column_dimensions[get_column_letter(i)].width = column.width
        bold = Font(bold=True)
        header = []
        for column in columns:
            cell = WriteOnlyCell(self._sheet, value=column.header)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)

    def _cell(self, value: Any) -> WriteOnlyCell:
        stored, number_format = cell_value(value)
        cell = WriteOnlyCell(self._sheet, value=stored)
        if isinstance(stored, str) and stored.startswith("="):
            cell.data_type = "s"  # text, never a formula
        if number_format:
            cell.number_format = number_format
        return cell

    def _append(self, rows: Iterable[R]) -> None:
        for row in rows:
            self._sheet.append([self._cell(column.value(row)) for column in self.columns])
            self.rows += 1

    async def append(self, rows: Iterable[R]) -> None:
        await asyncio.to_thread(self._append, list(rows))

    def _save(self) -> str:
        fd, path = tempfile.mkstemp(prefix="lianluo-export-", suffix=".xlsx")
        os.close(fd)
        try:
            self._book.save(path)
        except BaseException:
            os.unlink(path)
            raise
        return path

    def _open(self) -> BinaryIO:
        path = self._save()
        file = open(path, "rb")  # closed by the response's stream
        os.unlink(path)  # the open file stays readable; nothing is left behind, however the download ends
        return file

    async def response(self, filename: str) -> StreamingResponse:
        """The workbook as a download named ``filename``."""
        file = await asyncio.to_thread(self._open)

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while data := await asyncio.to_thread(file.read, 256 * 1024):
                    yield data
            finally:
                file.close()

        return StreamingResponse(chunks(), media_type=XLSX, headers={
            "Content-Length": str(os.fstat(file.fileno()).st_size),
            "Content-Disposition": f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(filename)}"})

    def discard(self) -> None:
        """Drop an unfinished workbook (its rows wait in a temporary file until saved or closed)."""
        with contextlib.suppress(Exception):
            self._book.close()


async def xlsx_response(rows: Iterable[R], columns: Sequence[Column[R]], filename: str,
                        title: str = "导出") -> StreamingResponse:
    """A whole list at once as an XLSX download."""
    writer = XlsxWriter(columns, title)
    try:
        await writer.append(rows)
        return await writer.response(filename)
    except BaseException:
        writer.discard()
        raise

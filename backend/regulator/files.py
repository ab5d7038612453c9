"""Reading and writing 12378 files: XLSX (recognised by content: a zip holding ``xl/workbook.xml``) and CSV
(UTF-8 with or without BOM, else GBK/GB18030). These functions are blocking; callers run them in a thread.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from backend.core.problems import Invalid

ZIP_MAGIC = b"PK\x03\x04"
# Text files carry no control characters other than tab, line breaks and form feed.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UnreadableFile(Invalid):
    title, code = "无法读取文件", "unreadable-file"


@dataclass(frozen=True)
class Sheet:
    """The rows of a file as read: ``header`` is the first non-empty row, ``rows`` the non-empty rows after it,
    each with its row number as a spreadsheet shows it (the file's first line is row 1)."""

    encoding: str
    header_row: int
    header: list[Any]
    rows: list[tuple[int, list[Any]]]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(encoding: str, numbered: Any) -> Sheet:
    header: list[Any] | None = None
    header_row = 0
    rows: list[tuple[int, list[Any]]] = []
    for number, values in numbered:
        values = list(values)
        if all(_blank(v) for v in values):
            continue
        if header is None:
            header, header_row = values, number
        else:
            rows.append((number, values))
    if header is None:
        raise UnreadableFile("文件中没有任何内容（未找到表头行）")
    return Sheet(encoding, header_row, header, rows)


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def _read_xlsx(data: bytes) -> Sheet:
    import openpyxl  # imported here: only imports need it, and it is slow to load

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise UnreadableFile("XLSX 文件已损坏或格式不受支持") from exc
    try:
        if not wb.worksheets:
            raise UnreadableFile("XLSX 文件中没有工作表")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong sheet size; read what is really there
        return _sheet("xlsx", enumerate(ws.iter_rows(values_only=True), start=1))
    finally:
        wb.close()


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "gbk", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _BINARY.search(text):
            break  # decodable, but binary: no encoding will make it a table
        return text, encoding
    raise UnreadableFile("文件既不是 XLSX，也不是 UTF-8 或 GBK 编码的 CSV 文本")


def _read_csv(data: bytes) -> Sheet:
    text, encoding = _decode(data)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","  # Excel's 文本文件 saves tabs
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _sheet(encoding, enumerate(reader, start=1))
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误：{exc}") from exc


def read_table(data: bytes) -> Sheet:
    """The table in ``data``, whatever its name says it is."""
    if _is_xlsx(data):
        return _read_xlsx(data)
    if data.startswith(ZIP_MAGIC):
        raise UnreadableFile("文件是压缩包而不是 XLSX 工作簿")
    return _read_csv(data)


def write_xlsx(headers: list[str], rows: list[list[Any]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("12378")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_csv(headers: list[str], rows: list[list[Any]], encoding: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode(encoding)

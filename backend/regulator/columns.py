"""The columns of a 12378 file: our field names, the header the regulator's layout uses, the aliases seen in
practice, and which are required. Finding the columns of an uploaded file (with the user's own mapping
applied on top) happens here, so the import and the export share one layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.core.problems import Invalid


@dataclass(frozen=True)
class Column:
    field: str  # our name, also the key of the user's mapping
    header: str  # the regulator's header, used on export
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("regulator_number", "投诉编号", ("工单编号", "编号", "投诉单号", "投诉件编号")),
    Column("source", "来源", ("投诉来源", "来源渠道")),
    Column("received_at", "接收时间", ("受理时间", "登记时间", "收件时间")),
    Column("transferred_at", "转送时间", ("转办时间", "转交时间", "转送日期")),
    Column("due_at", "到期日", ("办理时限", "办结时限", "处理时限", "到期时间", "办理期限")),
    Column("complainant_name", "投诉人姓名", ("投诉人", "姓名", "客户姓名")),
    Column("id_number", "证件号", ("身份证号", "证件号码", "身份证号码", "投诉人证件号")),
    Column("phone", "联系电话", ("电话", "手机", "手机号", "手机号码", "联系方式")),
    Column("respondent_org", "被投诉机构", ("被投诉单位", "被投诉公司", "承办机构")),
    Column("line_of_business", "涉及险种", ("险种", "险种名称")),
    Column("policy_number", "保单号", ("保单号码", "保险单号")),
    Column("subject", "投诉事由", ("事由", "投诉原因", "投诉内容")),
    Column("cause", "事由分类", ("投诉类别", "投诉分类", "问题类别")),
    Column("demand", "诉求", ("投诉诉求", "诉求内容", "投诉请求")),
    Column("attachments", "附件", ("附件名称", "附件清单")),
    Column("repeat_flag", "重复投诉标识", ("是否重复投诉", "重复投诉", "重复件")),
)
BY_FIELD = {c.field: c for c in COLUMNS}

REQUIRED = ("regulator_number", "complainant_name", "subject")
ONE_OF = ("phone", "id_number")  # at least one of these columns, and per row at least one value

FEEDBACK_HEADERS = ("处理结果", "是否满足诉求", "告知时间", "告知方式")


def _clean(header: Any) -> str:
    return "".join(str(header).split()) if header is not None else ""


class MissingColumns(Invalid):
    title, code = "缺少必需的列", "missing-columns"


class BadMapping(Invalid):
    title, code = "列映射无效", "bad-mapping"


def locate(headers: list[Any], mapping: dict[str, str] | None) -> dict[str, int]:
    """Field → index of its column in ``headers``. Raises for unknown mapping keys and for missing required
    columns, naming every one."""
    names = [_clean(h) for h in headers]
    mapping = mapping or {}
    unknown = sorted(set(mapping) - set(BY_FIELD))
    if unknown:
        raise BadMapping(f"列映射中有未知字段：{'、'.join(unknown)}",
                         errors=[{"field": f"mapping.{f}", "type": "unknown_field", "message": "未知字段"}
                                 for f in unknown])
    found: dict[str, int] = {}
    missing_mapped: list[str] = []
    for column in COLUMNS:
        if column.field in mapping:
            wanted = _clean(mapping[column.field])
            if wanted in names:
                found[column.field] = names.index(wanted)
            else:
                missing_mapped.append(mapping[column.field])
            continue
        for name in (column.header, *column.aliases):
            if name in names:
                found[column.field] = names.index(name)
                break
    missing = missing_mapped + [BY_FIELD[f].header for f in REQUIRED if f not in found and f not in mapping]
    if not any(f in found for f in ONE_OF) and not any(f in mapping for f in ONE_OF):
        missing.append("联系电话或证件号")
    if missing:
        raise MissingColumns(f"文件缺少以下列：{'、'.join(missing)}", missing_columns=missing)
    return found


def header_of(field: str, headers: list[Any], found: dict[str, int]) -> str:
    """The header as written in the user's file (what per-row errors name), or ours when the column is absent."""
    index = found.get(field)
    return _clean(headers[index]) if index is not None and index < len(headers) else BY_FIELD[field].header

"""HTTP routes of the 12378 import and export: permission, parse, service, present."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import Invalid
from backend.regulator.export import ExportFormat, ExportQuery, export
from backend.regulator.schemas import ImportBatchOut, ImportBatchSummary, ImportReportOut
from backend.regulator.services import FileTooLarge, get_batch, import_file, list_batches
from backend.tickets.numbering import SHANGHAI

router = APIRouter(prefix="/api", tags=["regulator"])

Importer = Annotated[Principal, Depends(allowed(Permission.ticket_import))]


def _mapping(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Invalid("列映射应为 JSON 对象，如 {\"regulator_number\": \"工单号\"}",
                      errors=[{"field": "mapping", "type": "json_invalid", "message": "应为字段名到表头的 JSON 对象"}])
    return value


@router.post("/regulator/imports", response_model=ImportReportOut, status_code=201,
             summary="导入 12378 转办投诉（XLSX 或 CSV；dry_run=true 只校验不写入）",
             responses={413: {"description": "文件超过大小上限"},
                        422: {"description": "文件无法识别、编码不支持、缺少必需的列或列映射无效"}})
async def create_import(ctx: Ctx, session: Session, principal: Importer, response: Response,
                        file: Annotated[UploadFile, File(description="XLSX，或 UTF-8/GBK 编码的 CSV")],
                        mapping: Annotated[str | None, Form(description="可选：JSON 列映射 {字段: 文件中的表头}")] = None,
                        dry_run: Annotated[bool, Form()] = False) -> ImportReportOut:
    limit = ctx.settings.import_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"文件超过 {limit} 字节上限")
    report = await import_file(session, principal, ctx.clock, file_name=file.filename or "upload", data=data,
                               max_bytes=limit, mapping=_mapping(mapping), dry_run=dry_run)
    if dry_run:
        response.status_code = 200
    return ImportReportOut.of(report)


@router.get("/regulator/imports", response_model=list[ImportBatchSummary], summary="导入批次列表（最新在前）")
async def batches(session: Session, principal: Importer, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> list[ImportBatchSummary]:
    return [ImportBatchSummary.of(b) for b in await list_batches(session, limit, offset)]


@router.get("/regulator/imports/{batch_id}", response_model=ImportBatchOut, summary="导入批次详情（含逐行错误）")
async def batch(batch_id: int, session: Session, principal: Importer) -> ImportBatchOut:
    return ImportBatchOut.of(await get_batch(session, batch_id))


@router.get("/regulator/export", summary="导出 12378 投诉及处理结果（XLSX；format=csv 为 GBK 编码 CSV）",
            response_class=Response,
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                                         "text/csv": {}}}})
async def export_file(ctx: Ctx, session: Session, principal: Importer,
                      query: Annotated[ExportQuery, Query()]) -> Response:
    data, media_type = await export(session, principal, query)
    suffix = "csv" if query.format is ExportFormat.csv else "xlsx"
    name = f"12378-{ctx.clock.now().astimezone(SHANGHAI):%Y%m%d-%H%M}.{suffix}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

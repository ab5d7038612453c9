"""HTTP routes of attachments: upload (streamed multipart), download, link, a ticket's attachments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from backend.attachments.filetypes import content_disposition
from backend.attachments.models import OwnerKind
from backend.attachments.schemas import AttachmentOut, LinkIn
from backend.attachments.services import file_of, keep, link_one, ticket_attachments, visible_attachment
from backend.attachments.storage import Upload, receive
from backend.audit.services import record
from backend.auth.deps import Ctx, CurrentPrincipal, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import Forbidden, Invalid

router = APIRouter(prefix="/api", tags=["attachments"])

UPLOAD_PERMISSIONS = frozenset({Permission.ticket_write, Permission.kb_write, Permission.ticket_handle})


async def _uploader(principal: CurrentPrincipal) -> Principal:
    if not principal.permissions & UPLOAD_PERMISSIONS:
        raise Forbidden("当前角色无上传附件权限")
    return principal


Uploader = Annotated[Principal, Depends(_uploader)]
TicketReader = Annotated[Principal, Depends(allowed(Permission.ticket_read))]

_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "文件（类型按内容识别）"},
                   "owner_kind": {"type": "string", "enum": [k.value for k in OwnerKind]},
                   "owner_id": {"type": "integer", "description": "与 owner_kind 同时给出：上传即关联"}}}}}}}


def _owner(upload: Upload) -> tuple[OwnerKind, int] | None:
    kind, owner_id = upload.fields.get("owner_kind", "").strip(), upload.fields.get("owner_id", "").strip()
    if not kind and not owner_id:
        return None
    errors = []
    if kind not in {k.value for k in OwnerKind}:
        errors.append({"field": "owner_kind", "type": "enum", "message": "所属对象类型无效"})
    if not owner_id.isdigit() or int(owner_id) < 1:
        errors.append({"field": "owner_id", "type": "int_parsing", "message": "所属对象编号无效"})
    if errors:
        raise Invalid("owner_kind 与 owner_id 须同时给出且有效", errors=errors)
    return OwnerKind(kind), int(owner_id)


@router.post("/attachments", response_model=AttachmentOut, status_code=201, openapi_extra=_UPLOAD_BODY,
             summary="上传附件（multipart/form-data，可同时关联工单、办理记录、知识库文章或基金使用记录）",
             responses={413: {"description": "超过大小上限"}, 415: {"description": "类型不允许或扩展名与内容不符"},
                        422: {"description": "未通过病毒扫描或字段无效"}})
async def upload(request: Request, ctx: Ctx, session: Session, principal: Uploader) -> AttachmentOut:
    settings = ctx.settings
    received = await receive(request.headers.get("content-type", ""), request.stream(),
                             settings.effective_attachments_dir, settings.attachment_max_bytes)
    try:
        owner = _owner(received)
    except BaseException:
        await received.discard()
        raise
    return AttachmentOut.of(await keep(session, principal, ctx.clock, settings, received, owner))


@router.get("/attachments/{attachment_id}", response_class=FileResponse, summary="下载附件（有权查看其所属对象者）")
async def download(attachment_id: int, ctx: Ctx, session: Session, principal: CurrentPrincipal) -> FileResponse:
    attachment = await visible_attachment(session, principal, attachment_id)
    path = await file_of(ctx.settings, attachment)
    await record(session, principal, action="attachment.download", subject_type="attachment",
                 subject_id=str(attachment.id), at=ctx.clock.now(),
                 detail={"owner_kind": attachment.owner_kind, "owner_id": attachment.owner_id})
    return FileResponse(path, media_type=attachment.content_type, headers={
        "Content-Disposition": content_disposition(attachment.file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })


@router.post("/attachments/{attachment_id}/link", response_model=AttachmentOut, summary="关联本人上传、尚未关联的附件",
             responses={409: {"description": "附件已关联"}})
async def link(attachment_id: int, body: LinkIn, session: Session, principal: Uploader) -> AttachmentOut:
    return AttachmentOut.of(await link_one(session, principal, attachment_id, body.owner_kind, body.owner_id))


@router.get("/tickets/{ticket_id}/attachments", response_model=list[AttachmentOut],
            summary="工单的附件（含其办理记录的附件）")
async def of_ticket(ticket_id: int, session: Session, principal: TicketReader) -> list[AttachmentOut]:
    return [AttachmentOut.of(a) for a in await ticket_attachments(session, ticket_id)]

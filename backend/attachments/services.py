"""Attachments: keeping a received upload, who may download it, linking it to what it belongs to.

Visibility follows the owner (see backend.attachments.models): a ticket's or handling record's files are
seen by whoever sees the ticket (backend.tickets.services.get_ticket, scoped); a fund usage's by whoever
holds ``fund.read`` and sees the usage (its account's org subtree); a knowledge-base article's by whoever
may read the article (backend.knowledge.visibility: published for them, or theirs to manage); an unlinked
file by its uploader only. Invisible answers "not found", as everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.attachments.filetypes import TYPE_LABELS, detect, name_agrees, safe_file_name
from backend.attachments.models import Attachment, OwnerKind
from backend.attachments.storage import UnsupportedType, Upload, place, scan, stored_path
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.problems import Conflict, Forbidden, Invalid, NotFound
from backend.core.settings import Settings
from backend.fund.models import FundTransaction, TransactionKind
from backend.knowledge.models import KbArticle
from backend.knowledge.visibility import may_manage, published_readable
from backend.orgs.scope import across_org_tree
from backend.tickets.services import get_ticket
from backend.workflow.models import HandlingRecord


class AttachmentNotFound(NotFound):
    title, code = "附件不存在", "attachment-not-found"


class AlreadyLinked(Conflict):
    title, code = "附件已关联到其他对象", "attachment-linked"


class OwnerNotFound(Invalid):
    title, code = "附件所属对象不存在", "attachment-owner-not-found"


async def _ticket_of_record(session: AsyncSession, record_id: int) -> int | None:
    # Records of a visible ticket are visible wherever their actor sits (as in the timeline).
    return await session.scalar(across_org_tree(select(HandlingRecord.ticket_id).where(HandlingRecord.id == record_id)))


async def owner_visible(session: AsyncSession, principal: Principal, kind: OwnerKind, owner_id: int) -> bool:
    """Whether ``principal`` can see the object an attachment belongs to."""
    if kind in (OwnerKind.ticket, OwnerKind.handling_record):
        if not principal.can(Permission.ticket_read):
            return False
        ticket_id = owner_id if kind is OwnerKind.ticket else await _ticket_of_record(session, owner_id)
        if ticket_id is None:
            return False
        try:
            await get_ticket(session, ticket_id)
        except NotFound:
            return False
        return True
    if kind is OwnerKind.fund_usage:
        usage = await session.get(FundTransaction, owner_id)
        return principal.can(Permission.fund_read) and usage is not None and usage.kind == TransactionKind.usage
    if not principal.can(Permission.kb_read):
        return False
    published = published_readable(principal, KbArticle.id).where(KbArticle.id == owner_id)
    if await session.scalar(published) is not None:
        return True
    article = await session.get(KbArticle, owner_id)  # scoped: drafts and submissions of the subtree
    return article is not None and may_manage(principal, article)


async def _check_link_target(session: AsyncSession, principal: Principal, kind: OwnerKind, owner_id: int) -> None:
    if not await owner_visible(session, principal, kind, owner_id):
        raise OwnerNotFound("附件所属对象不存在或无权访问",
                            errors=[{"field": "owner_id", "type": "not_found", "message": "对象不存在"}])
    if kind is OwnerKind.handling_record:
        actor = await session.scalar(across_org_tree(select(HandlingRecord.actor_user_id)
                                                     .where(HandlingRecord.id == owner_id)))
        if actor != principal.user_id:
            raise Forbidden("只能为自己的办理记录添加附件")
    if kind is OwnerKind.fund_usage and not principal.can(Permission.fund_manage):
        raise Forbidden("无权为基金使用记录添加附件")
    if kind is OwnerKind.kb_article:
        article = await session.get(KbArticle, owner_id)
        if not principal.can(Permission.kb_write) or article is None or not may_manage(principal, article):
            raise Forbidden("只有文章作者或审核人可以为文章添加附件")


async def keep(session: AsyncSession, principal: Principal, clock: Clock, settings: Settings, upload: Upload,
               owner: tuple[OwnerKind, int] | None = None) -> Attachment:
    """Check a received upload (type, name, virus scan, owner) and store it; the temporary file is gone
    afterwards whatever happens."""
    try:
        detected = await asyncio.to_thread(detect, upload.path)
        allowed = {t.lower() for t in settings.attachment_types}
        if not detected.type or detected.type not in allowed:
            accepted = "、".join(TYPE_LABELS.get(t, t) for t in settings.attachment_types)
            what = f"不支持「{TYPE_LABELS[detected.type]}」文件" if detected.type else "无法识别的文件类型"
            raise UnsupportedType(f"{what}，允许的类型：{accepted}", detected_type=detected.type or None)
        file_name = safe_file_name(upload.raw_name)
        if not name_agrees(file_name, detected.type):
            raise UnsupportedType(f"文件扩展名与内容不符：内容为「{TYPE_LABELS[detected.type]}」",
                                  detected_type=detected.type)
        if owner is not None:
            await _check_link_target(session, principal, *owner)
        if settings.virus_scan_command.strip():
            await scan(settings.virus_scan_command, upload.path)
        await place(upload, settings.effective_attachments_dir)
    finally:
        await upload.discard()
    attachment = Attachment(org_id=principal.org_id, owner_kind=owner[0] if owner else None,
                            owner_id=owner[1] if owner else None, file_name=file_name,
                            content_type=detected.content_type, detected_type=detected.type, size=upload.size,
                            sha256=upload.sha256, uploaded_by=principal.user_id, uploaded_at=clock.now())
    session.add(attachment)
    await session.flush()
    return attachment


async def _row(session: AsyncSession, attachment_id: int) -> Attachment | None:
    # Tree-wide on purpose: whether the caller may see it is decided by its owner, next.
    return (await session.scalars(across_org_tree(select(Attachment).where(Attachment.id == attachment_id)))).first()


async def visible_attachment(session: AsyncSession, principal: Principal, attachment_id: int) -> Attachment:
    """The attachment, if ``principal`` may see it (else AttachmentNotFound)."""
    attachment = await _row(session, attachment_id)
    if attachment is None:
        raise AttachmentNotFound("附件不存在")
    if attachment.owner_kind is None or attachment.owner_id is None:
        if attachment.uploaded_by == principal.user_id:
            return attachment
        raise AttachmentNotFound("附件不存在")
    kind = OwnerKind(attachment.owner_kind)
    if not await owner_visible(session, principal, kind, attachment.owner_id):
        raise AttachmentNotFound("附件不存在")
    return attachment


async def file_of(settings: Settings, attachment: Attachment) -> Path:
    path = stored_path(settings.effective_attachments_dir, attachment.sha256)
    if not await asyncio.to_thread(path.is_file):
        raise AttachmentNotFound("附件文件已不存在，请联系管理员")
    return path


async def link_attachments(session: AsyncSession, principal: Principal, ids: Sequence[int], owner_kind: OwnerKind | str,
                           owner_id: int) -> list[Attachment]:
    """Link the caller's unlinked uploads ``ids`` to an object the caller can see. Linking again to the same
    owner is harmless; an id that is not the caller's upload is invalid; one linked elsewhere conflicts.
    For services that take ``attachment_ids`` (ticket registration, workflow actions, fund usage)."""
    kind = OwnerKind(owner_kind)
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    await _check_link_target(session, principal, kind, owner_id)
    rows = {a.id: a for a in await session.scalars(across_org_tree(select(Attachment).where(Attachment.id.in_(ids))))}
    bad = [i for i, a_id in enumerate(ids) if a_id not in rows or rows[a_id].uploaded_by != principal.user_id]
    if bad:
        raise Invalid("附件不存在或不是您上传的", errors=[
            {"field": f"attachment_ids.{i}", "type": "not_found", "message": "附件不存在或不是您上传的"} for i in bad])
    elsewhere = [a_id for a_id in ids if rows[a_id].owner_id is not None
                 and (rows[a_id].owner_kind, rows[a_id].owner_id) != (kind.value, owner_id)]
    if elsewhere:
        raise AlreadyLinked("附件已关联到其他对象", attachment_ids=elsewhere)
    unlinked = [a_id for a_id in ids if rows[a_id].owner_id is None]
    if unlinked:
        # Only rows still unlinked change: of two linkers at once, the second finds fewer rows and stops.
        result = await session.execute(
            update(Attachment).where(Attachment.id.in_(unlinked), Attachment.owner_id.is_(None))
            .values(owner_kind=kind.value, owner_id=owner_id).execution_options(synchronize_session=False))
        if result.rowcount != len(unlinked):  # type: ignore[attr-defined]
            raise AlreadyLinked("附件已被同时关联到其他对象，请刷新后重试")
        for a_id in unlinked:
            rows[a_id].owner_kind, rows[a_id].owner_id = kind.value, owner_id
    return [rows[a_id] for a_id in ids]


async def ticket_attachments(session: AsyncSession, ticket_id: int) -> list[Attachment]:
    """A visible ticket's attachments and those of its handling records, oldest first."""
    await get_ticket(session, ticket_id)
    records = select(HandlingRecord.id).where(HandlingRecord.ticket_id == ticket_id)
    stmt = select(Attachment).where(or_(
        (Attachment.owner_kind == OwnerKind.ticket.value) & (Attachment.owner_id == ticket_id),
        (Attachment.owner_kind == OwnerKind.handling_record.value) & Attachment.owner_id.in_(records),
    )).order_by(Attachment.uploaded_at, Attachment.id)
    return list(await session.scalars(across_org_tree(stmt)))


async def link_one(session: AsyncSession, principal: Principal, attachment_id: int, owner_kind: OwnerKind,
                   owner_id: int) -> Attachment:
    """The link endpoint: the uploader links an unlinked upload of theirs."""
    attachment = await visible_attachment(session, principal, attachment_id)
    if attachment.uploaded_by != principal.user_id:
        raise Forbidden("只有上传人可以关联附件")
    if attachment.owner_id is not None:
        raise AlreadyLinked("附件已关联，不能再次关联")
    return (await link_attachments(session, principal, [attachment_id], owner_kind, owner_id))[0]

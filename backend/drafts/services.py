"""Saving, reading, listing and deleting one user's form drafts.

Every statement filters on the caller's user id: a draft is its author's alone, whatever their roles (another
user's draft is simply not found). A save is one ``INSERT … ON CONFLICT DO UPDATE`` on (user, form), so two
tabs saving at once never lose the row; a save that names the version it read only updates that version, and
otherwise gets a conflict carrying what is stored. Payloads hold phone and ID numbers: never logged.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.db import upsert
from backend.core.problems import Conflict, DomainError, NotFound
from backend.drafts.models import FormDraft
from backend.drafts.schemas import DraftIn

MAX_PAYLOAD_BYTES = 64 * 1024
# A draft nobody touched for a month belongs to a call long dealt with; purged whenever its author saves
# another one, which keeps the table small without a scheduled job.
DRAFT_RETENTION_DAYS = 30
LIST_LIMIT = 50


class DraftNotFound(NotFound):
    title, code = "草稿不存在", "draft-not-found"


class DraftTooLarge(DomainError):
    status, title, code = 413, "草稿内容过大", "draft-too-large"


class StaleDraft(Conflict):
    """The save named a version that is no longer stored; ``draft`` is what is stored now."""

    title, code = "草稿已在其他页面更新", "draft-stale"

    def __init__(self, draft: FormDraft) -> None:
        super().__init__(f"草稿当前版本为 {draft.version}，请以此为准重新保存")
        self.draft = draft


def payload_size(payload: dict[str, Any]) -> int:
    """Bytes of the payload as compact UTF-8 JSON: what the client sends, whatever its whitespace."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())


async def _own(session: AsyncSession, principal: Principal, form_key: str) -> FormDraft | None:
    stmt = select(FormDraft).where(FormDraft.user_id == principal.user_id, FormDraft.form_key == form_key)
    # After a save in the same session the identity map may hold the row as it was before.
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def get_draft(session: AsyncSession, principal: Principal, form_key: str) -> FormDraft:
    draft = await _own(session, principal, form_key)
    if draft is None:
        raise DraftNotFound(f"没有表单「{form_key}」的草稿")
    return draft


async def save_draft(session: AsyncSession, principal: Principal, clock: Clock, form_key: str,
                     body: DraftIn) -> FormDraft:
    size = payload_size(body.payload)
    if size > MAX_PAYLOAD_BYTES:
        raise DraftTooLarge(f"草稿内容约 {size // 1024} KiB，超过 64 KiB 上限，请精简备注等长文本后再保存")
    now = clock.now()
    await session.execute(delete(FormDraft).where(
        FormDraft.user_id == principal.user_id, FormDraft.form_key != form_key,
        FormDraft.updated_at < now - timedelta(days=DRAFT_RETENTION_DAYS)))
    table = FormDraft.__table__
    written = {"org_id": principal.org_id, "title": body.title, "payload": body.payload,
               "saved_at": body.saved_at or now, "updated_at": now}
    stmt = upsert(session, FormDraft).values(user_id=principal.user_id, form_key=form_key, version=1, **written)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.form_key],
        set_={**written, "version": table.c.version + 1},
        # Only the version the writer read is overwritten; with none named, the last writer wins.
        where=(table.c.version == body.version) if body.version is not None else None,
    ).returning(table.c.id)
    stored = (await session.execute(stmt)).scalar()
    draft = await _own(session, principal, form_key)
    assert draft is not None  # written just now, or held by the conflicting row
    if stored is None:
        raise StaleDraft(draft)
    return draft


async def list_drafts(session: AsyncSession, principal: Principal, prefix: str | None) -> list[FormDraft]:
    stmt = select(FormDraft).where(FormDraft.user_id == principal.user_id)
    if prefix:
        stmt = stmt.where(FormDraft.form_key.startswith(prefix, autoescape=True))
    stmt = stmt.order_by(FormDraft.updated_at.desc(), FormDraft.id.desc()).limit(LIST_LIMIT)
    return list(await session.scalars(stmt))


async def delete_draft(session: AsyncSession, principal: Principal, form_key: str) -> None:
    """Idempotent: deleting a draft that is not there (any more) is not an error."""
    await session.execute(delete(FormDraft).where(FormDraft.user_id == principal.user_id,
                                                  FormDraft.form_key == form_key))

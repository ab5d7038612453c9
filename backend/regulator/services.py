"""Importing a 12378 file: read it (in a thread), find its columns, check every row, and register each good
row as a submitted complaint ticket assigned to the org the row names — all in the caller's transaction.

The regulator's complaint number is the key: a number already imported anywhere in the tree is counted as a
duplicate and skipped; an import racing another one over the same numbers loses at the unique constraint,
row by row (a savepoint per row), and counts those rows as duplicates too. A refused row never stops the
good ones; anything unexpected fails the whole import and nothing is written.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.services import record
from backend.auth.principal import Principal
from backend.codes.services import active_items
from backend.core.clock import Clock
from backend.core.problems import DomainError, NotFound
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.regulator.columns import header_of, locate
from backend.regulator.files import read_table
from backend.regulator.models import ImportBatch, RegulatorComplaint
from backend.regulator.rows import GoodRow, Lookups, check_rows, names_in, numbers_in
from backend.tickets.models import Priority
from backend.tickets.services import register

CHUNK = 500  # values per IN (…): well under both databases' parameter limits


class FileTooLarge(DomainError):
    status, title, code = 413, "文件过大", "file-too-large"


class BatchNotFound(NotFound):
    title, code = "导入批次不存在", "import-batch-not-found"


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    file_name: str
    sha256: str
    encoding: str
    rows: int
    imported: int
    duplicates: int
    error_rows: int
    errors: list[dict[str, Any]]
    dry_run: bool
    batch: ImportBatch | None = None
    duplicate_rows: list[int] = field(default_factory=list)


def _chunks(values: set[str]) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def _existing_numbers(session: AsyncSession, numbers: set[str]) -> set[str]:
    """Which of ``numbers`` were imported before, anywhere in the tree. Only the numbers leave this function."""
    found: set[str] = set()
    for chunk in _chunks(numbers):
        stmt = across_org_tree(select(RegulatorComplaint.regulator_number)
                               .where(RegulatorComplaint.regulator_number.in_(chunk)))
        found.update(await session.scalars(stmt))
    return found


async def _named_orgs(session: AsyncSession, names: set[str]) -> list[Org]:
    orgs: dict[int, Org] = {}
    for chunk in _chunks(names):
        for org in await session.scalars(select(Org).where(or_(Org.name.in_(chunk), Org.code.in_(chunk)))):
            orgs[org.id] = org
    return list(orgs.values())


# Fields a ticket service names in a refusal → the file's column they came from.
_REFUSED_FIELDS = {"details.line_of_business": "line_of_business", "details.cause": "cause",
                   "details.sub_cause": "cause", "complainant_phone": "phone", "complainant_id_number": "id_number"}
DUPLICATE = ("regulator_number", "duplicate")


async def _write_row(session: AsyncSession, principal: Principal, clock: Clock, batch: ImportBatch,
                     row: GoodRow) -> tuple[str, str] | None:
    """Register one row's ticket and its regulator record in a savepoint. Returns None when written,
    :data:`DUPLICATE` when another import took the number first, or (field, reason) when a service refused it."""
    try:
        async with session.begin_nested():
            ticket = await register(session, principal, clock, row.ticket, org_id=row.org_id,
                                    decision_due_at=row.due_at, priority=Priority.regulator)
            session.add(RegulatorComplaint(
                org_id=row.org_id, regulator_number=row.regulator_number, ticket_id=ticket.id, source=row.source,
                received_at=row.received_at, transferred_at=row.transferred_at, due_at=row.due_at,
                repeat_flag=row.repeat_flag, raw=row.raw, import_batch_id=batch.id, created_at=clock.now()))
            await session.flush()
    except IntegrityError:
        if await _existing_numbers(session, {row.regulator_number}):
            return DUPLICATE
        raise
    except DomainError as exc:
        named = [e.get("field", "") for e in exc.extra.get("errors", [])]
        return next((_REFUSED_FIELDS[f] for f in named if f in _REFUSED_FIELDS), "subject"), exc.detail
    return None


async def import_file(session: AsyncSession, principal: Principal, clock: Clock, *, file_name: str, data: bytes,
                      max_bytes: int, mapping: dict[str, str] | None, dry_run: bool) -> ImportReport:
    if len(data) > max_bytes:
        raise FileTooLarge(f"文件超过 {max_bytes} 字节上限")
    sheet = await asyncio.to_thread(read_table, data)
    found = locate(sheet.header, mapping)
    lookups = Lookups(scope=principal.scope, own_org_id=principal.org_id,
                      orgs=await _named_orgs(session, names_in(sheet, found)),
                      lines=await active_items(session, "line_of_business"),
                      causes=await active_items(session, "complaint_cause"))
    existing = await _existing_numbers(session, numbers_in(sheet, found))
    checked = await asyncio.to_thread(check_rows, sheet, found, lookups, existing)
    report = ImportReport(file_name=file_name, sha256=hashlib.sha256(data).hexdigest(), encoding=sheet.encoding,
                          rows=len(sheet.rows), imported=len(checked.good), duplicates=len(checked.duplicates),
                          error_rows=checked.error_rows, errors=checked.errors, dry_run=dry_run,
                          duplicate_rows=[n for n, _ in checked.duplicates])
    if dry_run:
        return report

    now = clock.now()
    # Written first: on SQLite this INSERT opens the transaction, so the per-row savepoints nest inside it.
    batch = ImportBatch(org_id=principal.org_id, file_name=file_name[:255], sha256=report.sha256,
                        encoding=sheet.encoding, row_count=report.rows, imported_count=0, duplicate_count=0,
                        error_count=0, errors=[], created_by=principal.user_id, created_at=now)
    session.add(batch)
    await session.flush()
    report.imported = 0
    for row in checked.good:
        outcome = await _write_row(session, principal, clock, batch, row)
        if outcome is None:
            report.imported += 1
        elif outcome == DUPLICATE:
            report.duplicates += 1
            report.duplicate_rows.append(row.row)
        else:
            name, message = outcome
            name = "subject" if name == "cause" and "cause" not in found else name
            report.error_rows += 1
            report.errors.append({"row": row.row, "column": header_of(name, sheet.header, found), "message": message})
    report.errors.sort(key=lambda e: e["row"])
    report.duplicate_rows.sort()
    batch.imported_count, batch.duplicate_count = report.imported, report.duplicates
    batch.error_count, batch.errors = report.error_rows, report.errors
    await session.flush()
    await record(session, principal, action="regulator.import", subject_type="regulator_import_batch",
                 subject_id=str(batch.id), at=now,
                 detail={"file_name": batch.file_name, "sha256": batch.sha256, "rows": report.rows,
                         "imported": report.imported, "duplicates": report.duplicates, "errors": report.error_rows})
    report.batch = batch
    return report


async def list_batches(session: AsyncSession, limit: int, offset: int) -> list[ImportBatch]:
    stmt = select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    return list(await session.scalars(stmt.limit(limit).offset(offset)))


async def get_batch(session: AsyncSession, batch_id: int) -> ImportBatch:
    batch = await session.get(ImportBatch, batch_id)
    if batch is None:
        raise BatchNotFound("导入批次不存在")
    return batch

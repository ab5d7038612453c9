"""HTTP shapes of the 12378 import: an import's report (also of a dry run) and the batches list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.regulator.models import ImportBatch
from backend.regulator.services import ImportReport


class RowError(BaseModel):
    row: int = Field(description="行号（与 Excel 中所见一致，第一行为 1）")
    column: str = Field(description="列名（文件中的表头）")
    message: str


class ImportBatchSummary(BaseModel):
    id: int
    org_id: int
    file_name: str
    sha256: str
    encoding: str
    rows: int = Field(description="数据行数（不含表头和空行）")
    imported: int
    duplicates: int = Field(description="投诉编号已导入过的行")
    error_rows: int = Field(description="未导入的错误行")
    created_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, b: ImportBatch) -> ImportBatchSummary:
        return cls(id=b.id, org_id=b.org_id, file_name=b.file_name, sha256=b.sha256, encoding=b.encoding,
                   rows=b.row_count, imported=b.imported_count, duplicates=b.duplicate_count,
                   error_rows=b.error_count, created_by=b.created_by, created_at=b.created_at)


class ImportBatchOut(ImportBatchSummary):
    errors: list[RowError]

    @classmethod
    def of(cls, b: ImportBatch) -> ImportBatchOut:
        return cls(**ImportBatchSummary.of(b).model_dump(), errors=[RowError(**e) for e in b.errors])


class ImportReportOut(BaseModel):
    """The result of an import; with ``dry_run`` nothing was written and ``batch_id`` is null."""

    dry_run: bool
    batch_id: int | None
    file_name: str
    sha256: str
    encoding: str
    rows: int
    imported: int = Field(description="已导入（试导入时为可导入）的行数")
    duplicates: int
    duplicate_rows: list[int] = Field(description="投诉编号已存在而跳过的行号")
    error_rows: int
    errors: list[RowError]

    @classmethod
    def of(cls, r: ImportReport) -> ImportReportOut:
        return cls(dry_run=r.dry_run, batch_id=r.batch.id if r.batch else None, file_name=r.file_name,
                   sha256=r.sha256, encoding=r.encoding, rows=r.rows, imported=r.imported, duplicates=r.duplicates,
                   duplicate_rows=r.duplicate_rows, error_rows=r.error_rows,
                   errors=[RowError(**e) for e in r.errors])

"""HTTP schemas of attachments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.attachments.models import Attachment, OwnerKind


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_kind: OwnerKind | None
    owner_id: int | None
    file_name: str
    content_type: str
    detected_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    uploaded_at: datetime
    download_url: str

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(id=a.id, owner_kind=a.owner_kind, owner_id=a.owner_id, file_name=a.file_name,
                   content_type=a.content_type, detected_type=a.detected_type, size=a.size, sha256=a.sha256,
                   uploaded_by=a.uploaded_by, uploaded_at=a.uploaded_at, download_url=f"/api/attachments/{a.id}")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_kind: OwnerKind
    owner_id: int = Field(ge=1)

"""HTTP schemas of form drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

FORM_KEY_PATTERN = r"^[a-z0-9][a-z0-9_:.-]{0,127}$"


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] = Field(description="表单内容（JSON 对象，序列化后不超过 64 KiB）")
    title: str | None = Field(None, max_length=128, description="草稿标题（恢复提示中显示）")
    saved_at: AwareDatetime | None = Field(None, description="客户端保存时间，缺省为服务器时间")
    version: int | None = Field(None, ge=1, description="读到的版本；不一致时 409。为空则直接覆盖")


class DraftLine(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    form_key: str
    title: str | None
    saved_at: datetime
    updated_at: datetime
    version: int


class DraftOut(DraftLine):
    payload: dict[str, Any]

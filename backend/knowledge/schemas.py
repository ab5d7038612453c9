"""HTTP schemas of the knowledge base."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.knowledge.models import ArticleStatus, ReviewAction, Visibility

MAX_TAGS = 10
MAX_ATTACHMENTS = 50
MAX_BODY_CHARS = 500_000


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        if "|" in tag:
            raise ValueError("标签不能包含字符「|」")
        seen.setdefault(tag, None)
    return list(seen)


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS, description="标签（最多 10 个）"), AfterValidator(_clean_tags)]
AttachmentIds = Annotated[list[Annotated[int, Field(gt=0)]],
                          Field(max_length=MAX_ATTACHMENTS, description="附件编号（附件模块上传后得到）")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Body = Annotated[str, Field(max_length=MAX_BODY_CHARS, description="正文（富文本 HTML，保存时按白名单净化）")]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="分类代码（小写字母、数字、下划线）")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    sort_order: int = Field(0, ge=0, le=100_000)


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    sort_order: int


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=32, description="分类代码")
    title: Title
    summary: Summary | None = None
    body_html: Body = ""
    tags: Tags = []
    attachment_ids: AttachmentIds = []
    visibility: Visibility = Field(Visibility.subtree, description="subtree = 发布机构及下级；all = 全公司（须总公司审核发布）")


class ArticlePatch(BaseModel):
    """Only the fields sent are changed; ``version`` is the one the editor read."""

    model_config = ConfigDict(extra="forbid")

    version: int
    category: str | None = Field(None, max_length=32)
    title: Title | None = None
    summary: Summary | None = None
    body_html: Body | None = None
    tags: Tags | None = None
    attachment_ids: AttachmentIds | None = None
    visibility: Visibility | None = None


class ReviewIn(BaseModel):
    """A step of the flow. ``version``, when sent, must be the current one (else 409)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = None
    comment: Comment | None = None


class PublishIn(ReviewIn):
    visibility: Visibility | None = Field(None, description="发布范围，不填则按文章设置")


class ReturnIn(ReviewIn):
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="退回意见（必填）")


class ArticleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=100, description="搜索词（分词后须全部命中）")
    category: str | None = Field(None, max_length=32, description="分类代码")
    tag: str | None = Field(None, max_length=32)
    mine: bool = Field(False, description="true = 我的文章（任意状态）")
    status: ArticleStatus | None = Field(None, description="非已发布状态仅审核人可查（本机构及下级）")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)


class ArticleHit(BaseModel):
    id: int
    title: str
    category: str
    category_name: str
    tags: list[str]
    status: ArticleStatus
    org_id: int
    org_name: str
    snippet: str
    published_at: datetime | None
    updated_at: datetime
    version: int


class ArticleOut(BaseModel):
    id: int
    org_id: int
    org_name: str
    category: str
    category_name: str
    title: str
    summary: str | None
    body_html: str
    tags: list[str]
    attachment_ids: list[int]
    status: ArticleStatus
    visibility: Visibility
    published_org_id: int | None
    author_id: int | None
    author_name: str | None
    reviewer_id: int | None
    reviewer_name: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    version: int


class ReviewOut(BaseModel):
    id: int
    action: ReviewAction
    actor_id: int | None
    actor_name: str | None
    acted_at: datetime
    comment: str | None
    version: int

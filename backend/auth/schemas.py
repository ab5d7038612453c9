"""HTTP schemas of auth and users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.audit.pii import Phone
from backend.auth.permissions import ROLE_LABELS, Role
from backend.directory.identity import ValidEmail, ValidPhone


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserSummary(BaseModel):
    """Who a user is and where they sit: shared by "who am I" and user administration."""

    id: int
    username: str
    display_name: str
    org_id: int
    org_name: str
    roles: list[Role]


class MeOut(UserSummary):
    role_labels: list[str]
    permissions: list[str]


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: MeOut


class UserOut(UserSummary):
    __pii_subject__ = "user"
    mobile: Phone | None = None
    email: str | None = None
    phone_interface: str | None = None  # the agent's phone device, e.g. PJSIP/1001
    active: bool
    locked_until: datetime | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    org_id: int
    roles: list[Role] = Field(min_length=1)
    mobile: ValidPhone | None = None
    email: ValidEmail | None = None


def role_labels(roles: list[Role] | frozenset[Role]) -> list[str]:
    return [ROLE_LABELS[Role(r)] for r in sorted(roles)]

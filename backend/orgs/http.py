"""HTTP routes of the org tree."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.orgs.models import LEVEL_LABELS, Org, OrgLevel
from backend.orgs.services import create_org, get_org, list_orgs

router = APIRouter(prefix="/api/orgs", tags=["orgs"])



class OrgOut(BaseModel):
    id: int
    code: str
    name: str
    level: OrgLevel
    level_label: str
    parent_id: int | None
    depth: int
    region_code: str | None

    @classmethod
    def of(cls, o: Org) -> OrgOut:
        return cls(id=o.id, code=o.code, name=o.name, level=o.level, level_label=LEVEL_LABELS[OrgLevel(o.level)],
                   parent_id=o.parent_id, depth=o.depth, region_code=o.region_code)


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=128)
    level: OrgLevel
    parent_id: int
    region_code: str | None = Field(None, pattern=r"^\d{6}$")


@router.get("", response_model=list[OrgOut], summary="机构树（本机构及下级）")
async def orgs(session: Session, principal: Principal = Depends(allowed(Permission.org_read)),
               under: int | None = None) -> list[OrgOut]:
    return [OrgOut.of(o) for o in await list_orgs(session, principal.scope, under)]


@router.get("/{org_id}", response_model=OrgOut, summary="机构详情")
async def org(org_id: int, session: Session, principal: Principal = Depends(allowed(Permission.org_read))) -> OrgOut:
    return OrgOut.of(await get_org(session, principal.scope, org_id))


@router.post("", response_model=OrgOut, status_code=201, summary="新建下级机构")
async def add_org(body: OrgIn, session: Session,
                  principal: Principal = Depends(allowed(Permission.org_manage))) -> OrgOut:
    org = await create_org(session, principal.scope, code=body.code, name=body.name, level=body.level,
                           parent_id=body.parent_id, region_code=body.region_code)
    return OrgOut.of(org)

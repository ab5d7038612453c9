"""HTTP routes of the code tables: any logged-in user reads them (forms build their drop-downs from them)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from backend.auth.deps import CurrentPrincipal, Session
from backend.codes.services import active_items

router = APIRouter(prefix="/api", tags=["codes"])


class CodeItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    label: str
    parent_code: str | None
    sort_order: int


@router.get("/codes/{table}", response_model=list[CodeItemOut], summary="代码表（有效项，按顺序）")
async def code_table(table: str, session: Session, _principal: CurrentPrincipal) -> list[CodeItemOut]:
    return [CodeItemOut.model_validate(i) for i in await active_items(session, table)]

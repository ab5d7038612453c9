"""Creating orgs and reading the tree (within a scope)."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.problems import Conflict, NotFound
from backend.orgs.models import Org, OrgLevel, subtree_bounds
from backend.orgs.scope import Scope, across_org_tree


def _visible(scope: Scope):  # type: ignore[no-untyped-def]
    """Orgs themselves are not OrgScoped rows (they *are* the tree), so the same rule is applied here."""
    if scope.unrestricted:
        return True
    return Org.id.in_(scope.org_ids_clause())


async def list_orgs(session: AsyncSession, scope: Scope, under: int | None = None) -> list[Org]:
    stmt = select(Org).where(_visible(scope)).order_by(Org.path)
    if under is not None:
        root = await get_org(session, scope, under)
        lo, hi = subtree_bounds(root.path)
        stmt = stmt.where(and_(Org.path >= lo, Org.path < hi))
    return list((await session.scalars(stmt)).all())


async def get_org(session: AsyncSession, scope: Scope, org_id: int) -> Org:
    org = await session.scalar(select(Org).where(Org.id == org_id, _visible(scope)))
    if org is None:
        raise NotFound("机构不存在")
    return org


async def create_org(session: AsyncSession, scope: Scope, *, code: str, name: str, level: OrgLevel,
                     parent_id: int | None, region_code: str | None = None) -> Org:
    if await session.scalar(select(Org.id).where(Org.code == code)) is not None:
        raise Conflict(f"机构代码 {code} 已存在")
    parent = await get_org(session, scope, parent_id) if parent_id is not None else None
    if parent is None and not scope.unrestricted:
        raise NotFound("上级机构不存在")
    # The path needs the id, so insert with a unique placeholder first.
    org = Org(code=code, name=name, level=level, parent_id=parent.id if parent else None,
              path=f"/new-{code}/", region_code=region_code)
    session.add(org)
    await session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    await session.flush()
    return org


async def org_path_or_root(session: AsyncSession, code: str) -> str | None:
    """The path of the org ``code`` names, or of the root when ``code`` is empty; None when ``code`` names no
    org. Tree-wide: a setting may name an org above the caller (``cti_org_code``)."""
    stmt = select(Org.path).where(Org.code == code) if code else \
        select(Org.path).where(Org.parent_id.is_(None)).order_by(Org.path).limit(1)
    return await session.scalar(across_org_tree(stmt))

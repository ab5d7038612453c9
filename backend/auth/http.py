"""HTTP routes: login, logout, who am I, users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from backend.audit.pii import present
from backend.auth.deps import COOKIE_NAME, Ctx, CurrentPrincipal, Session, allowed
from backend.auth.models import User
from backend.auth.permissions import Permission, Role
from backend.auth.principal import Principal
from backend.auth.schemas import LoginIn, LoginOut, MeOut, UserIn, UserOut, role_labels
from backend.auth.services import AuthService, create_user
from backend.core.problems import NotFound

router = APIRouter(prefix="/api", tags=["auth"])


def _me(p: Principal) -> MeOut:
    return MeOut(id=p.user_id, username=p.username, display_name=p.display_name, org_id=p.org_id,
                 org_name=p.org_name, roles=sorted(p.roles), role_labels=role_labels(p.roles),
                 permissions=sorted(p.permissions))


def _user_out(u: User) -> UserOut:
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, org_id=u.org_id,
                   org_name=u.org.name, roles=[Role(r) for r in u.roles], mobile=u.mobile, email=u.email,
                   phone_interface=u.phone_interface, active=u.active, locked_until=u.locked_until)


@router.post("/auth/login", response_model=LoginOut, summary="登录")
async def login(body: LoginIn, request: Request, response: Response, ctx: Ctx, session: Session) -> LoginOut:
    result = await AuthService(session, ctx.settings, ctx.clock, ctx.bus).login(
        body.username, body.password,
        client_ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(COOKIE_NAME, result.token, httponly=True, samesite="strict", secure=ctx.settings.cookie_secure,
                        max_age=ctx.settings.token_ttl_minutes * 60, path="/")
    return LoginOut(token=result.token, expires_at=result.expires_at, user=_me(result.principal))


@router.post("/auth/logout", status_code=204, summary="退出登录")
async def logout(principal: CurrentPrincipal, response: Response, ctx: Ctx, session: Session) -> Response:
    await AuthService(session, ctx.settings, ctx.clock, ctx.bus).logout(principal)
    response.status_code = 204
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/auth/me", response_model=MeOut, summary="当前用户")
async def me(principal: CurrentPrincipal) -> MeOut:
    return _me(principal)


@router.get("/users", response_model=list[UserOut], summary="用户列表（本机构及下级）")
async def list_users(session: Session, principal: Principal = Depends(allowed(Permission.user_read)),
                     org_id: int | None = None, limit: int = 200) -> list[UserOut]:
    stmt = select(User).order_by(User.id).limit(min(limit, 1000))
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    users = (await session.scalars(stmt)).all()
    return await present([_user_out(u) for u in users], principal, session)


@router.get("/users/{user_id}", response_model=UserOut, summary="用户详情")
async def get_user(user_id: int, session: Session,
                   principal: Principal = Depends(allowed(Permission.user_read))) -> UserOut:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return await present(_user_out(user), principal, session)


@router.post("/users", response_model=UserOut, status_code=201, summary="新建用户")
async def add_user(body: UserIn, ctx: Ctx, session: Session,
                   principal: Principal = Depends(allowed(Permission.user_manage))) -> UserOut:
    user = await create_user(session, username=body.username, password=body.password,
                             display_name=body.display_name, org_id=body.org_id, roles=body.roles,
                             mobile=body.mobile, email=body.email, now=ctx.clock.now())
    return await present(_user_out(user), principal, session)

"""FastAPI dependencies: the request's database session, its principal, and permission checks.

Authenticating a request also installs the principal's org scope on its session, so every query
the route makes afterwards is limited to the caller's subtree (see backend.orgs.scope).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.auth.services import AuthService
from backend.core.context import AppContext
from backend.core.problems import Unauthenticated

COOKIE_NAME = "lianluo_token"


def app_context(request: Request) -> AppContext:
    return request.app.state.ctx


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_context(request).db.session() as session:
        yield session


Ctx = Annotated[AppContext, Depends(app_context)]
# scope="function": the transaction ends (commit or rollback) before the response is sent. With the
# default, a failed commit would follow a 201 already on its way, or an unmasked PII view whose audit
# row was never written.
Session = Annotated[AsyncSession, Depends(db_session, scope="function")]


def token_from(headers: Any, cookies: dict[str, str], query: Any | None = None) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    if query is not None and query.get("token"):
        return query.get("token")  # websockets from browsers cannot set headers
    return cookies.get(COOKIE_NAME)


async def authenticate(ctx: AppContext, session: AsyncSession, token: str | None, client_ip: str | None,
                       request_id: str | None) -> Principal:
    if not token:
        raise Unauthenticated()
    principal = await AuthService(session, ctx.settings, ctx.clock).authenticate(
        token, client_ip=client_ip, request_id=request_id
    )
    session.info["scope"] = principal.scope
    return principal


async def current_principal(request: Request, ctx: Ctx, session: Session) -> Principal:
    return await authenticate(
        ctx, session, token_from(request.headers, request.cookies),
        request.client.host if request.client else None, getattr(request.state, "request_id", None),
    )


async def websocket_principal(websocket: WebSocket, session: AsyncSession) -> Principal:
    ctx: AppContext = websocket.app.state.ctx
    token = token_from(websocket.headers, websocket.cookies, websocket.query_params)
    return await authenticate(ctx, session, token, websocket.client.host if websocket.client else None, None)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def allowed(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the principal, after checking it holds ``permission`` (403 otherwise)."""

    async def _check(principal: CurrentPrincipal) -> Principal:
        principal.require(permission)
        return principal

    _check.__name__ = f"allowed_{permission.name}"
    return _check

"""The FastAPI application: REST API, health probes, agent console pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agent_ui.pages import mount as mount_ui
from backend import health
from backend.attachments import http as attachments_http
from backend.audit import http as audit_http
from backend.auth import http as auth_http
from backend.calls import http as calls_http
from backend.calls import ivr_http
from backend.codes import http as codes_http
from backend.core import problems
from backend.core.context import AppContext
from backend.core.middleware import BodyLimit, RequestContext
from backend.directory import http as directory_http
from backend.drafts import http as drafts_http
from backend.fund import http as fund_http
from backend.hub import ws as hub_ws
from backend.knowledge import http as knowledge_http
from backend.orgs import http as orgs_http
from backend.regulator import http as regulator_http
from backend.screenpop import http as screenpop_http
from backend.search import http as search_http
from backend.telephony import http as telephony_http
from backend.tickets import http as tickets_http
from backend.wallboard import http as wallboard_http
from backend.workflow import http as workflow_http


def create_app(ctx: AppContext, *, own_context: bool = True) -> FastAPI:
    """Build the app around ``ctx``. With ``own_context`` the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_context:
            await ctx.close()

    app = FastAPI(
        title="联络 Lianluo",
        description="保险公司呼叫中心与投诉管理平台 API",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    problems.install(app)
    for router in (health.router, auth_http.router, orgs_http.router, directory_http.router, audit_http.router,
                   hub_ws.router, telephony_http.router, ivr_http.router, calls_http.router,
                   codes_http.router, search_http.router, tickets_http.router, workflow_http.router,
                   attachments_http.router, regulator_http.router, knowledge_http.router, fund_http.router,
                   screenpop_http.router, wallboard_http.router, drafts_http.router):
        app.include_router(router)
    mount_ui(app)
    # Uploads stream to disk and enforce their own size limit; the slack covers multipart headers and fields.
    app.add_middleware(BodyLimit, max_bytes=ctx.settings.max_body_bytes,
                       per_path={"/api/attachments": ctx.settings.attachment_max_bytes + 64 * 1024,
                                 "/api/regulator/imports": ctx.settings.import_max_bytes + 64 * 1024})
    app.add_middleware(RequestContext)
    return app

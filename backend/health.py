"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])
log = logging.getLogger("lianluo.health")


@router.get("/healthz", summary="进程存活")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="依赖就绪（数据库、事件总线）")
async def readyz(request: Request) -> JSONResponse:
    ctx = request.app.state.ctx
    checks: dict[str, str] = {}
    for name, probe in (("database", ctx.db.ping), ("bus", ctx.bus.ping)):
        try:
            await asyncio.wait_for(probe(), timeout=2.0)
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)

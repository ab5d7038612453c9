"""Service exceptions and their one translation to RFC 9457 problem details at the HTTP edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("lianluo.http")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """Base of every error a service raises on purpose. ``detail`` is shown to the user (Chinese)."""

    status = 400
    title = "请求无效"
    code = "bad-request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    status, title, code = 404, "未找到", "not-found"


class Unauthenticated(DomainError):
    status, title, code = 401, "未登录或登录已过期", "unauthenticated"


class Forbidden(DomainError):
    status, title, code = 403, "无权执行此操作", "forbidden"


class Conflict(DomainError):
    status, title, code = 409, "数据已被他人修改或已存在", "conflict"


class Locked(DomainError):
    status, title, code = 423, "账户已锁定", "locked"


class Invalid(DomainError):
    """Input that is well-formed but wrong for the domain (bad ID checksum, unknown org, …)."""

    status, title, code = 422, "请求参数无效", "invalid"


class Unavailable(DomainError):
    status, title, code = 503, "服务暂不可用", "unavailable"


def problem(status: int, title: str, code: str, detail: str, request: Request | None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:lianluo:problem:{code}", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_FIELD_MESSAGES = {
    "missing": "缺少必填字段",
    "json_invalid": "不是有效的 JSON",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "extra_forbidden": "不允许的字段",
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        msg = err.get("msg", "")
        # Our own validators raise ValueError with a Chinese message; pydantic prefixes it.
        if msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        else:
            msg = _FIELD_MESSAGES.get(err.get("type", ""), msg)
        out.append({"field": ".".join(loc[1:]) or loc[0] if loc else "", "message": msg, "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.code, exc.detail, request, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "请求体不是有效的 JSON", "malformed-json", "请求体无法解析为 JSON，请检查格式", request)
        summary = "；".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "请求参数无效", "validation", summary, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "未找到", 405: "不支持的请求方法", 401: "未登录或登录已过期", 403: "无权执行此操作", 413: "请求体过大"}
        title = titles.get(exc.status_code, "请求无效")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") else title
        return problem(exc.status_code, title, f"http-{exc.status_code}", detail, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "服务器内部错误", "internal", "服务器内部错误，请稍后重试或联系管理员", request)

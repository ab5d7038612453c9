"""Routes of the agent console pages and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.types import Scope

from agent_ui import vendor
from backend.auth.deps import COOKIE_NAME

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

templates = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True)


class _StaticFiles(StaticFiles):
    """Static files that also carry nosniff, so a module script is never run from a mistyped body."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(STATIC_HEADERS)
        return response


def _page(template: str, **context: object) -> HTMLResponse:
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, headers=PAGE_HEADERS)


async def root(request: Request) -> RedirectResponse:
    target = "/console" if request.cookies.get(COOKIE_NAME) else "/login"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


async def login_page() -> HTMLResponse:
    return _page("login.html")


async def console_page() -> HTMLResponse:
    return _page("console.html")


async def wallboard_page() -> HTMLResponse:
    return _page("wallboard.html")


async def tickets_page() -> HTMLResponse:
    return _page("tickets.html")


def mount(app: FastAPI) -> None:
    """Serve ``/static`` and the pages ``/``, ``/login``, ``/console``, ``/wallboard`` and ``/tickets`` from ``app``."""
    # Mounted before /static so that the more specific prefixes win.
    for name, dist in vendor.packages().items():
        app.mount(f"{vendor.URL_PREFIX}/{name}", _StaticFiles(directory=dist, check_dir=False), name=f"vendor:{name}")
    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/", root, methods=["GET"], include_in_schema=False)
    app.add_api_route("/login", login_page, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
    app.add_api_route("/console", console_page, methods=["GET"], response_class=HTMLResponse,
                      include_in_schema=False)
    app.add_api_route("/wallboard", wallboard_page, methods=["GET"], response_class=HTMLResponse,
                      include_in_schema=False)
    app.add_api_route("/tickets", tickets_page, methods=["GET"], response_class=HTMLResponse,
                      include_in_schema=False)

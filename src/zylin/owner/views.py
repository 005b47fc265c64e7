"""The owner's dashboard: sign-in and sign-out, its assets, and the routers of its pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from loguru import logger

from zylin.owner import act, call_page, home, live, setup_page
from zylin.owner.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECS,
    csrf_ok,
    is_owner,
    owner_token,
    session_cookie_value,
    tokens_equal,
)
from zylin.owner.home import INTENTS, PAGE_SIZE
from zylin.owner.render import HERE, SECURITY_HEADERS, Pages, make_templates

if TYPE_CHECKING:
    from zylin.state import AppState

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" '
    'rx="8" fill="#2f6fde"/><path d="M10 10h12L10 22h12" stroke="#fff" stroke-width="3" '
    'fill="none" stroke-linejoin="round"/></svg>'
)
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
SIGNED_OUT_ASSETS = frozenset({"style.css"})  # what the sign-in and "off" pages use
# Kept importable from here, where they used to live.
__all__ = [
    "HERE",
    "ICON",
    "INTENTS",
    "PAGE_SIZE",
    "SECURITY_HEADERS",
    "Pages",
    "dashboard_router",
    "make_templates",
]


def dashboard_router() -> APIRouter:
    """The `/dashboard` pages, signed in with `ADMIN_TOKEN` (an HMAC cookie, never the token)."""
    router = APIRouter(include_in_schema=False)
    pages = Pages()
    page = pages.page

    @router.get("/dashboard/static/{name}")
    async def static(request: Request, name: str) -> Response:
        """Our own stylesheet and scripts (no CDN); only files that exist in static/. Signed
        out, only what the sign-in page needs; the rest is for the signed-in pages."""
        path = HERE / "static" / name
        kind = STATIC_TYPES.get(path.suffix)
        if kind is None or "/" in name or name.startswith(".") or not path.is_file():
            return Response("Not Found", status_code=404, media_type="text/plain")
        if name in SIGNED_OUT_ASSETS:
            headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
        else:
            headers = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
            if not is_owner(request):
                return Response("Sign in first.", status_code=401, headers=headers)
        return Response(path.read_bytes(), media_type=kind, headers=headers)

    @router.get("/dashboard/style.css")
    async def style(request: Request) -> Response:
        return await static(request, "style.css")

    @router.get("/dashboard/icon.svg")
    async def icon() -> Response:
        return Response(
            ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    @router.get("/dashboard/login")
    async def login_form(request: Request) -> Response:
        if owner_token(request.app.state.zylin.settings) is None:
            return page(request, "off.html", status=404)
        if is_owner(request):
            return RedirectResponse("/dashboard", status_code=303)
        return page(request, "login.html", error=None)

    @router.post("/dashboard/login")
    async def login(
        request: Request,
        token: str = Form("", max_length=512),
        name: str = Form("", max_length=200),
    ) -> Response:
        state: AppState = request.app.state.zylin
        expected = owner_token(state.settings)
        if expected is None:
            return page(request, "off.html", status=404)
        if not tokens_equal(token.strip(), expected):
            client = request.client.host if request.client else "?"
            logger.warning(f"Dashboard sign-in refused from {client}: wrong token")
            return page(request, "login.html", status=401, error="That token is not right.")
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_cookie_value(expected, state.now(), name),
            max_age=SESSION_MAX_AGE_SECS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/dashboard/logout")
    async def logout(request: Request, csrf: str = Form("", max_length=200)) -> Response:
        if not csrf_ok(request, csrf):
            return pages.problem(request, 403, "Form expired", "Reload the page and try again.")
        response = RedirectResponse("/dashboard/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    for module in (home, call_page, act, setup_page, live):
        module.add_routes(router, pages)
    return router

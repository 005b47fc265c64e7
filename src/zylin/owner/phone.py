"""The browser phone's page: a Call button, hang-up and a live transcript, behind sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zylin.owner.auth import SESSION_COOKIE, is_owner, owner_token
from zylin.owner.phone_csrf import csrf_token
from zylin.owner.views import SECURITY_HEADERS, make_templates

if TYPE_CHECKING:
    from zylin.state import AppState

STATIC = Path(__file__).resolve().parent / "static"
PHONE_PAGE = "/dashboard/phone"
# The dashboard's headers, plus our own scripts (the page and its AudioWorklet), our own
# WebSocket and fetches, and the microphone for this origin only.
PHONE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}
SCRIPTS = ("phone.js", "phone-worklet.js")


def phone_page_router() -> APIRouter:
    """`GET /dashboard/phone` and its static files (served from this package, no CDN)."""
    router = APIRouter(include_in_schema=False)
    templates = make_templates()
    assets = {name: (STATIC / name).read_text(encoding="utf-8") for name in (*SCRIPTS, "phone.css")}

    @router.get(PHONE_PAGE)
    async def phone_page(request: Request) -> Response:
        state: AppState = request.app.state.zylin
        admin = owner_token(state.settings)
        if admin is None:
            return RedirectResponse("/dashboard", status_code=303)  # explains how to turn it on
        session = request.cookies.get(SESSION_COOKIE)
        if not is_owner(request) or not session:
            return RedirectResponse("/dashboard/login", status_code=303)
        html = templates.get_template("phone.html").render(
            business=state.profile.name,
            timezone=state.profile.timezone,
            demo=state.engines.any_demo,
            engines=state.engines.describe(),
            signed_in=True,
            csrf=csrf_token(admin, session),
        )
        return HTMLResponse(html, headers=PHONE_HEADERS)

    def asset(request: Request, name: str, media_type: str) -> Response:
        """Only for the signed-in page that uses it (the cookie comes along: same origin)."""
        headers = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
        if not is_owner(request):
            return Response("Sign in first.", status_code=401, headers=headers)
        return Response(assets[name], media_type=media_type, headers=headers)

    @router.get("/dashboard/phone.js")
    async def phone_js(request: Request) -> Response:
        return asset(request, "phone.js", "text/javascript")

    @router.get("/dashboard/phone-worklet.js")
    async def worklet_js(request: Request) -> Response:
        return asset(request, "phone-worklet.js", "text/javascript")

    @router.get("/dashboard/phone.css")
    async def phone_css(request: Request) -> Response:
        return asset(request, "phone.css", "text/css")

    return router

"""The owner's dashboard: sign-in, calls, one call's transcript and latency, bookings, messages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from loguru import logger

from zylin.owner.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECS,
    is_owner,
    owner_token,
    session_cookie_value,
    tokens_equal,
)
from zylin.owner.records import (
    BadQuery,
    CallFilters,
    Redactor,
    appointment_dict,
    calls_page,
    detail_dict,
    message_dict,
    upcoming_bounds,
)

if TYPE_CHECKING:
    from zylin.state import AppState

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 25
INTENTS = ("booking", "reschedule", "cancel", "question", "message", "escalation", "other")
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" '
    'rx="8" fill="#2f6fde"/><path d="M10 10h12L10 22h12" stroke="#fff" stroke-width="3" '
    'fill="none" stroke-linejoin="round"/></svg>'
)
# No scripts at all, styles only from our own stylesheet, forms only back to us, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _local(value: datetime | None, tz: ZoneInfo, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    return value.astimezone(tz).strftime(fmt) if value else "—"


def _ms(value: float | None) -> str:
    return f"{value:,.0f} ms" if value is not None else "—"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def make_templates() -> Environment:
    """Jinja2 with autoescaping always on (caller speech and names are untrusted input)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = _local
    env.filters["ms"] = _ms
    env.filters["pretty"] = _pretty
    return env


def dashboard_router() -> APIRouter:
    """The `/dashboard` pages, signed in with `ADMIN_TOKEN` (an HMAC cookie, never the token)."""
    router = APIRouter(include_in_schema=False)
    templates = make_templates()
    stylesheet = (HERE / "static" / "style.css").read_text(encoding="utf-8")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        state: AppState = request.app.state.zylin
        settings = state.settings
        html = templates.get_template(name).render(
            business=state.profile.name,
            tz=state.profile.tz,
            timezone=state.profile.timezone,
            demo=state.engines.any_demo,
            engines=state.engines.describe(),
            signed_in=is_owner(request),
            **Redactor(settings)(context),
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def gate(request: Request) -> Response | None:
        """The off page or a redirect to sign in; None when the owner may see the page."""
        if owner_token(request.app.state.zylin.settings) is None:
            return page(request, "off.html", status=404)
        if not is_owner(request):
            return RedirectResponse("/dashboard/login", status_code=303)
        return None

    @router.get("/dashboard/style.css")
    async def style() -> Response:
        return Response(
            stylesheet, media_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )

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
    async def login(request: Request, token: str = Form("", max_length=512)) -> Response:
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
            session_cookie_value(expected, state.now()),
            max_age=SESSION_MAX_AGE_SECS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/dashboard/logout")
    async def logout() -> Response:
        response = RedirectResponse("/dashboard/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/dashboard")
    async def overview(
        request: Request,
        date_from: str | None = None,
        date_to: str | None = None,
        intent: str | None = None,
        caller: str | None = None,
        offset: int = 0,
    ) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        tz = state.profile.tz
        raw = {"date_from": date_from, "date_to": date_to, "intent": intent, "caller": caller}
        error = None
        try:
            filters = CallFilters.parse(date_from, date_to, intent, caller)
            calls = await calls_page(
                state.repository, filters, tz, limit=PAGE_SIZE, offset=max(0, offset)
            )
        except BadQuery as exc:
            error, filters = str(exc), CallFilters()
            calls = await calls_page(state.repository, filters, tz, limit=PAGE_SIZE, offset=0)
        first, last, lo, hi = upcoming_bounds(None, None, tz, state.now())
        appointments = await state.repository.appointments_between(lo, hi)
        messages = await state.repository.list_messages(limit=20)

        def link(new_offset: int) -> str:
            return "/dashboard?" + urlencode({**filters.as_query(), "offset": new_offset})

        prev_offset = calls["offset"] - PAGE_SIZE
        return page(
            request,
            "overview.html",
            status=422 if error else 200,
            error=error,
            raw={k: v or "" for k, v in raw.items()},
            intents=INTENTS,
            calls=calls,
            prev_link=link(max(0, prev_offset)) if calls["offset"] > 0 else None,
            next_link=link(calls["next_offset"]) if calls["next_offset"] is not None else None,
            window=(first, last),
            appointments=[appointment_dict(a) for a in appointments],
            messages=[message_dict(m) for m in messages.items],
            messages_total=messages.total,
        )

    @router.get("/dashboard/calls/{call_id}")
    async def call_detail(request: Request, call_id: str) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        detail = None
        if call_id.isdigit() and len(call_id) <= 18:
            detail = await state.repository.get_call(int(call_id))
        if detail is None:
            return page(request, "not_found.html", status=404, what=f"call {call_id[:40]}")
        escalations = await state.repository.escalations_for_call(detail.call.call_sid)
        data = detail_dict(detail, escalations, state.settings.turn_latency_target_ms)
        for turn in data["turns"]:
            heard, text = turn["heard_text"], turn["text"]
            # Show what the caller heard, then the part cut off by the barge-in.
            turn["unheard"] = (
                text[len(heard) :].strip()
                if turn["interrupted"] and heard is not None and text.startswith(heard)
                else None
            )
        return page(request, "call.html", **data)

    return router

"""Rendering the dashboard's pages: escaped templates, strict headers, and the sign-in gate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from zylin.owner.auth import csrf_for, csrf_ok, is_owner, owner_token
from zylin.owner.records import Redactor

if TYPE_CHECKING:
    from zylin.state import AppState

HERE = Path(__file__).resolve().parent
# Scripts, styles, media and fetches only from us; forms only back to us; no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "connect-src 'self'; media-src 'self'; form-action 'self'; "
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


def _usd(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.3f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


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
    env.filters["usd"] = _usd
    env.filters["share"] = _share
    env.filters["pretty"] = _pretty
    return env


class Pages:
    """Renders a page with what every page shows, and turns away whoever may not see it."""

    def __init__(self) -> None:
        self.templates = make_templates()

    def page(
        self,
        request: Request,
        name: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The template `name`, escaped, with secrets scrubbed and the strict headers (plus
        `headers`, for a page that needs more, e.g. the microphone)."""
        state: AppState = request.app.state.zylin
        html = self.templates.get_template(name).render(
            business=state.profile.name,
            tz=state.profile.tz,
            timezone=state.profile.timezone,
            demo=state.engines.any_demo,
            engines=state.engines.describe(),
            signed_in=is_owner(request),
            csrf=csrf_for(request),
            **Redactor(state.settings)(context),
        )
        return HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )

    def gate(self, request: Request) -> Response | None:
        """The off page or a redirect to sign in; None when the owner may see the page."""
        if owner_token(request.app.state.zylin.settings) is None:
            return self.page(request, "off.html", status=404)
        if not is_owner(request):
            return RedirectResponse("/dashboard/login", status_code=303)
        return None

    def form_gate(self, request: Request, csrf: str | None) -> Response | None:
        """`gate`, then the form's CSRF value: every form that changes data needs both."""
        if (refused := self.gate(request)) is not None:
            return refused
        if not csrf_ok(request, csrf):
            return self.problem(request, 403, "Form expired", "Reload the page and try again.")
        return None

    def not_found(self, request: Request, what: str) -> HTMLResponse:
        """The 404 page naming what is missing."""
        return self.page(request, "not_found.html", status=404, what=what[:60])

    def problem(self, request: Request, status: int, title: str, text: str) -> HTMLResponse:
        """A page saying what went wrong and what to do (bad form, stale page, taken slot)."""
        return self.page(request, "problem.html", status=status, title=title, text=text)

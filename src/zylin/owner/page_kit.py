"""What the owner's pages that change the profile share: rendering, the sign-in gate, the
same-site check on their forms, and reloading the profile once it was written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from loguru import logger

from zylin.owner.auth import csrf_for, csrf_ok, is_owner, owner_token

if TYPE_CHECKING:
    from zylin.state import AppState

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def templates() -> Environment:
    """Jinja2 on the dashboard's templates, autoescaping always on (callers' words)."""
    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    env: Environment, request: Request, name: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """A signed-in page on the dashboard's base layout."""
    state: AppState = request.app.state.zylin
    html = env.get_template(name).render(
        business=state.profile.name,
        timezone=state.profile.timezone,
        demo=state.engines.any_demo,
        engines=state.engines.describe(),
        signed_in=True,
        csrf=csrf_for(request),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def gate(request: Request) -> Response | None:
    """404 while the owner's side is off, sign-in when not signed in, else None."""
    if owner_token(request.app.state.zylin.settings) is None:
        return Response("Not Found", status_code=404)
    if not is_owner(request):
        return RedirectResponse("/dashboard/login", status_code=303)
    return None


def form_allowed(request: Request, csrf: str | None) -> bool:
    """A form that changes data came from this site and carries the session's CSRF value."""
    return same_origin(request) and csrf_ok(request, csrf)


def same_origin(request: Request) -> bool:
    """A browser's POST names where the form was; it must be this site (no cross-site forms)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser form post (the SameSite=Strict cookie is the other guard)
    return urlsplit(origin).netloc == request.url.netloc


def reload_profile(state: AppState) -> None:
    """New calls in this process use the written profile at once (other worker processes pick
    the file up on their next call: `zylin.app.profile_refresh`)."""
    from zylin.state import load_business

    try:
        state.profile = load_business(state.settings)
    except ValueError as exc:  # cannot happen after validation, but never break the page
        logger.error(f"Profile not reloaded: {exc}")

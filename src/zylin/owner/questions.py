"""The owner's "Unanswered questions" page: what callers asked that Zylin could not answer,
grouped and counted, each with a one-click "add to FAQ" that writes the profile file."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from loguru import logger

from zylin.business.faq_file import MAX_ANSWER, MAX_QUESTION, add_faq_entry
from zylin.owner.auth import is_owner, owner_token
from zylin.owner.unanswered import QuestionGroup, group_questions, unanswered_in

if TYPE_CHECKING:
    from zylin.state import AppState

PATH = "/dashboard/questions"
MAX_CALLS = 300  # the newest calls read per page view (one query each)
DEFAULT_DAYS = 30
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


def questions_router() -> APIRouter:
    """`GET /dashboard/questions` and `POST /dashboard/questions/faq` (signed-in owner only)."""
    router = APIRouter(include_in_schema=False)
    templates = Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,  # callers' words are untrusted input
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        state: AppState = request.app.state.zylin
        html = templates.get_template("questions.html").render(
            business=state.profile.name,
            timezone=state.profile.timezone,
            demo=state.engines.any_demo,
            engines=state.engines.describe(),
            signed_in=True,
            max_question=MAX_QUESTION,
            max_answer=MAX_ANSWER,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def gate(request: Request) -> Response | None:
        if owner_token(request.app.state.zylin.settings) is None:
            return Response("Not Found", status_code=404)
        if not is_owner(request):
            return RedirectResponse("/dashboard/login", status_code=303)
        return None

    async def listing(
        request: Request, days: int, status: int = 200, **context: Any
    ) -> HTMLResponse:
        state: AppState = request.app.state.zylin
        groups = await collect(state, days)
        tz = state.profile.tz
        rows = [_row(g, tz) for g in groups]
        return page(request, status, groups=rows, days=days, **context)

    @router.get(PATH)
    async def questions(request: Request, days: int = DEFAULT_DAYS, added: int = 0) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        days = min(max(days, 1), 365)
        return await listing(request, days, error=None, added=bool(added), form=None)

    @router.post(f"{PATH}/faq")
    async def add_to_faq(
        request: Request,
        question: str = Form("", max_length=2 * MAX_QUESTION),
        answer: str = Form("", max_length=2 * MAX_ANSWER),
    ) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        if not _same_origin(request):
            return Response("cross-site request refused", status_code=403)
        state: AppState = request.app.state.zylin
        path = state.settings.business_profile
        try:
            await asyncio.to_thread(add_faq_entry, path, question, answer, now=state.now())
        except (ValueError, OSError) as exc:
            logger.warning(f"FAQ entry not added: {exc}")
            form = {"question": question, "answer": answer}
            return await listing(
                request, DEFAULT_DAYS, status=422, error=str(exc), added=False, form=form
            )
        _reload_profile(state)
        return RedirectResponse(f"{PATH}?added=1", status_code=303)

    return router


async def collect(state: AppState, days: int) -> list[QuestionGroup]:
    """Unanswered questions of the last `days` days' calls, grouped, minus what the FAQ has."""
    since = state.now() - timedelta(days=days)
    page = await state.repository.list_calls(start=since, limit=MAX_CALLS)
    items = []
    for call in page.items:
        detail = await state.repository.get_call(call.id)
        if detail is not None:
            items.extend(unanswered_in(detail))
    return group_questions(items, known=[faq.q for faq in state.profile.faq])


def _row(group: QuestionGroup, tz: Any) -> dict[str, Any]:
    return {
        "wording": group.wording,
        "count": group.count,
        "others": [w for w in group.wordings if w != group.wording][:3],
        "last_asked": group.last_asked.astimezone(tz).strftime("%a %d %b, %H:%M")
        if group.last_asked
        else "",
        "call_ids": group.call_ids[:5],
    }


def _same_origin(request: Request) -> bool:
    """A browser's POST names where the form was; it must be this site (no cross-site forms)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser form post (the SameSite=Strict cookie is the other guard)
    return urlsplit(origin).netloc == request.url.netloc


def _reload_profile(state: AppState) -> None:
    """New calls in this process answer from the new FAQ at once (other worker processes pick
    the file up on their next call: `zylin.app.profile_refresh`)."""
    from zylin.state import load_business

    try:
        state.profile = load_business(state.settings)
    except ValueError as exc:  # cannot happen after validation, but never break the page
        logger.error(f"Profile not reloaded: {exc}")

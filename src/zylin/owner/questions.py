"""The owner's "Unanswered questions" page: what callers asked that Zylin could not answer,
grouped and counted, each with a one-click "add to FAQ" that writes the profile file."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from loguru import logger

from zylin.business.faq_file import MAX_ANSWER, MAX_QUESTION, add_faq_entry
from zylin.owner.auth import actor
from zylin.owner.page_kit import reload_profile
from zylin.owner.render import Pages
from zylin.owner.unanswered import QuestionGroup, group_questions, unanswered_in

if TYPE_CHECKING:
    from zylin.state import AppState

PATH = "/dashboard/questions"
MAX_CALLS = 300  # the newest calls read per page view (one query each)
DEFAULT_DAYS = 30


def questions_router() -> APIRouter:
    """`GET /dashboard/questions` and `POST /dashboard/questions/faq` (signed-in owner only)."""
    router = APIRouter(include_in_schema=False)
    pages = Pages()

    def page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        return pages.page(
            request,
            "questions.html",
            status,
            max_question=MAX_QUESTION,
            max_answer=MAX_ANSWER,
            **context,
        )

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
        if (refused := pages.gate(request)) is not None:
            return refused
        days = min(max(days, 1), 365)
        return await listing(request, days, error=None, added=bool(added), form=None)

    @router.post(f"{PATH}/faq")
    async def add_to_faq(
        request: Request,
        question: str = Form("", max_length=2 * MAX_QUESTION),
        answer: str = Form("", max_length=2 * MAX_ANSWER),
        csrf: str = Form("", max_length=200),
    ) -> Response:
        if (refused := pages.form_gate(request, csrf)) is not None:
            return refused
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
        reload_profile(state)
        await state.repository.record_owner_action(
            actor=actor(request),
            action="add_faq",
            target="profile:faq",
            detail={"question": question.strip(), "answer": answer.strip()},
        )
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

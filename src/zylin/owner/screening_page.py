"""The owner's screening page: the blocklist (add or remove a number, written into the
profile) and the calls screened lately, with why."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from loguru import logger

from zylin.business.blocklist_file import block_number, unblock_number
from zylin.business.screening import normalized_number
from zylin.end_reason import EndReason
from zylin.owner.auth import actor
from zylin.owner.page_kit import reload_profile
from zylin.owner.render import Pages

if TYPE_CHECKING:
    from zylin.state import AppState

PATH = "/dashboard/screening"
RECENT_DAYS = 7
MAX_CALLS = 300


def screening_router() -> APIRouter:
    """`GET /dashboard/screening`, `POST .../block` and `POST .../unblock` (owner only)."""
    router = APIRouter(include_in_schema=False)
    pages = Pages()

    async def page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        state: AppState = request.app.state.zylin
        rules = state.profile.screening
        return pages.page(
            request,
            "screening.html",
            status,
            blocklist=rules.blocklist,
            rate_limit=rules.rate_limit,
            no_speech_secs=rules.no_speech_secs,
            screened=await _recently_screened(state),
            **context,
        )

    @router.get(PATH)
    async def screening(request: Request, saved: int = 0) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        return await page(request, saved=bool(saved), error=None)

    async def change(request: Request, number: str, csrf: str, *, block: bool) -> Response:
        if (refused := pages.form_gate(request, csrf)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        edit = block_number if block else unblock_number  # on the file as it is now
        try:
            await asyncio.to_thread(edit, state.settings.business_profile, number, now=state.now())
        except (ValueError, OSError) as exc:
            logger.warning(f"Blocklist not changed: {exc}")
            return await page(request, status=422, saved=False, error=str(exc))
        reload_profile(state)
        await state.repository.record_owner_action(
            actor=actor(request),
            action="block_number" if block else "unblock_number",
            target="profile:blocklist",
            detail={"number": normalized_number(number)},
        )
        return RedirectResponse(f"{PATH}?saved=1", status_code=303)

    @router.post(f"{PATH}/block")
    async def block(
        request: Request,
        number: str = Form("", max_length=40),
        csrf: str = Form("", max_length=200),
    ) -> Response:
        return await change(request, number, csrf, block=True)

    @router.post(f"{PATH}/unblock")
    async def unblock(
        request: Request,
        number: str = Form("", max_length=40),
        csrf: str = Form("", max_length=200),
    ) -> Response:
        return await change(request, number, csrf, block=False)

    return router


async def _recently_screened(state: AppState) -> list[dict[str, Any]]:
    """The last week's screened calls, newest first, with why each was screened."""
    since = state.now() - timedelta(days=RECENT_DAYS)
    calls = (await state.repository.list_calls(start=since, limit=MAX_CALLS)).items
    rows = []
    tz = state.profile.tz
    for call in calls:
        if call.end_reason != EndReason.SCREENED:
            continue
        detail = await state.repository.get_call(call.id)
        why = next(
            (
                (a.detail or {}).get("why", "")
                for a in (detail.actions if detail else [])
                if a.kind == "screened"
            ),
            "",
        )
        rows.append(
            {
                "id": call.id,
                "when": call.started_at.astimezone(tz).strftime("%a %d %b, %H:%M"),
                "caller": call.caller_phone or "hidden number",
                "why": why.replace("_", " "),
            }
        )
    return rows

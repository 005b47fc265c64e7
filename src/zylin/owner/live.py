"""Calls in progress, from this server process's live-call registry, polled by the home page."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from zylin.owner.auth import is_owner, owner_token
from zylin.owner.records import Redactor
from zylin.owner.render import Pages

if TYPE_CHECKING:
    from zylin.state import AppState

POLL_SECS = 3


async def live_calls(state: AppState) -> list[dict[str, Any]]:
    """The calls in progress, oldest first, with how long each has lasted.

    This process's live-call registry (`active_calls`), plus the call records still open that
    started less than `MAX_CALL_SECS` (and a minute) ago: with several workers, the call may
    run in another process than the one answering this page. A worker that died leaves its
    records open, so the age limit keeps them from showing for long.
    """
    now = state.now()
    since = now - timedelta(seconds=state.settings.max_call_secs + 60)
    records = {c.id: c for c in await state.repository.open_calls(since)}
    for c in await state.repository.calls_by_sids(list(state.active_calls)):
        records.setdefault(c.id, c)
    tz = state.profile.tz
    return [
        {
            "id": c.id,
            "caller": c.caller_phone or "unknown number",
            "started": c.started_at.astimezone(tz).strftime("%H:%M:%S"),
            "secs": max(0, int((now - c.started_at).total_seconds())),
        }
        for c in sorted(records.values(), key=lambda c: (c.started_at, c.id))
        if c.ended_at is None
    ]


def add_routes(router: APIRouter, _pages: Pages) -> None:
    """`GET /dashboard/live.json`, what the home page's script polls."""

    @router.get("/dashboard/live.json")
    async def live(request: Request) -> Response:
        state: AppState = request.app.state.zylin
        if owner_token(state.settings) is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if not is_owner(request):
            return JSONResponse({"detail": "sign in"}, status_code=401)
        calls = Redactor(state.settings)(await live_calls(state))
        return JSONResponse(
            {"calls": calls, "poll_secs": POLL_SECS}, headers={"Cache-Control": "no-store"}
        )

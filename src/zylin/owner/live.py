"""Calls in progress, from this server process's live-call registry, polled by the home page."""

from __future__ import annotations

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
    """The calls this process is running now, oldest first, with how long each has lasted.

    `active_calls` holds only this worker's calls; with several workers each answers for its
    own, which is what a small shop running one process sees in full.
    """
    now = state.now()
    records = await state.repository.calls_by_sids(list(state.active_calls))
    tz = state.profile.tz
    return [
        {
            "id": c.id,
            "caller": c.caller_phone or "unknown number",
            "started": c.started_at.astimezone(tz).strftime("%H:%M:%S"),
            "secs": max(0, int((now - c.started_at).total_seconds())),
        }
        for c in records
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

"""The owner's JSON API under /api: calls, one call's full record, appointments, messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from loguru import logger

from zylin.owner.auth import owner_token, require_owner
from zylin.owner.home import stats_for
from zylin.owner.records import (
    BadQuery,
    CallFilters,
    Redactor,
    appointment_dict,
    calls_page,
    day_range,
    detail_dict,
    message_dict,
    page_dict,
    parse_day,
    upcoming_bounds,
)

if TYPE_CHECKING:
    from zylin.state import AppState

MAX_LIMIT = 200
MIN_TOKEN_CHARS = 16
CALL_SID_PREFIXES = ("CA", "BR")  # Twilio's calls; the browser phone's (zylin.app.browser_phone)
_NO_STORE = {"Cache-Control": "no-store"}


def _state(request: Request) -> AppState:
    return request.app.state.zylin


def _reply(state: AppState, data: dict[str, Any]) -> JSONResponse:
    """JSON with secrets scrubbed and no caching (the owner's records are private)."""
    body = jsonable_encoder(Redactor(state.settings)(data))
    return JSONResponse(body, headers=_NO_STORE)


def _bad(exc: BadQuery) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


@asynccontextmanager
async def _announce_owner_access(app: FastAPI) -> AsyncIterator[None]:
    """Say at start-up whether the owner's API and dashboard are on (runs after the app's)."""
    settings = app.state.zylin.settings
    token = owner_token(settings)
    if token is None:
        logger.warning(
            "Owner's API (/api) and dashboard (/dashboard) are OFF: set ADMIN_TOKEN to turn them on"
        )
    else:
        logger.info("Owner's API at /api and dashboard at /dashboard (ADMIN_TOKEN is set)")
        if len(token) < MIN_TOKEN_CHARS:
            logger.warning(
                f"ADMIN_TOKEN is shorter than {MIN_TOKEN_CHARS} characters: easy to guess. "
                'Make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
    yield


def api_router() -> APIRouter:
    """Routes of the owner's API; include with `prefix="/api"`.

    Every route needs `Authorization: Bearer <ADMIN_TOKEN>` (or the dashboard's session
    cookie) and answers 404 when `ADMIN_TOKEN` is unset. Listings page with `limit`/`offset`.
    """
    router = APIRouter(
        dependencies=[Depends(require_owner)], tags=["owner"], lifespan=_announce_owner_access
    )

    @router.get("/calls")
    async def list_calls(
        request: Request,
        date_from: str | None = None,
        date_to: str | None = None,
        intent: str | None = None,
        caller: str | None = None,
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0),
    ) -> JSONResponse:
        """Calls newest first; dates are inclusive days in the business timezone."""
        state = _state(request)
        try:
            filters = CallFilters.parse(date_from, date_to, intent, caller)
            data = await calls_page(
                state.repository, filters, state.profile.tz, limit=limit, offset=offset
            )
        except BadQuery as exc:
            raise _bad(exc) from None
        data["timezone"] = state.profile.timezone
        return _reply(state, data)

    @router.get("/calls/{call_ref}")
    async def get_call(request: Request, call_ref: str) -> JSONResponse:
        """One call by id (digits) or call SID (Twilio's CA..., the browser phone's BR...):
        record, transcript, latency."""
        state = _state(request)
        if call_ref.isdigit() and len(call_ref) <= 18:
            detail = await state.repository.get_call(int(call_ref))
        elif call_ref.startswith(CALL_SID_PREFIXES) and len(call_ref) <= 64:
            detail = await state.repository.get_call_by_sid(call_ref)
        else:
            raise HTTPException(
                422, detail="call id must be a number or a call SID (CA... or BR...)"
            )
        if detail is None:
            raise HTTPException(404, detail=f"no call {call_ref}")
        escalations = await state.repository.escalations_for_call(detail.call.call_sid)
        data = detail_dict(detail, escalations, state.settings.turn_latency_target_ms)
        data["timezone"] = state.profile.timezone
        return _reply(state, data)

    @router.get("/appointments")
    async def list_appointments(
        request: Request,
        start: str | None = None,
        end: str | None = None,
        include_cancelled: bool = False,
    ) -> JSONResponse:
        """Appointments overlapping the local days [start, end]; default today to +30 days."""
        state = _state(request)
        try:
            first, last, lo, hi = upcoming_bounds(start, end, state.profile.tz, state.now())
        except BadQuery as exc:
            raise _bad(exc) from None
        rows = await state.repository.appointments_between(
            lo, hi, include_cancelled=include_cancelled
        )
        return _reply(
            state,
            {
                "start": first.isoformat(),
                "end": last.isoformat(),
                "timezone": state.profile.timezone,
                "items": [appointment_dict(a) for a in rows],
            },
        )

    @router.get("/messages")
    async def list_messages(
        request: Request,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0),
    ) -> JSONResponse:
        """Messages for the owner, newest first."""
        state = _state(request)
        try:
            lo, hi = day_range(
                parse_day("date_from", date_from),
                parse_day("date_to", date_to),
                state.profile.tz,
                first_name="date_from",
                last_name="date_to",
            )
        except BadQuery as exc:
            raise _bad(exc) from None
        page = await state.repository.list_messages(start=lo, end=hi, limit=limit, offset=offset)
        data = page_dict(page, [message_dict(m) for m in page.items])
        data["timezone"] = state.profile.timezone
        return _reply(state, data)

    @router.get("/changes")
    async def changes(
        request: Request,
        target: str | None = Query(None, max_length=64, pattern=r"^[a-z_]+:[0-9]+$"),
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
    ) -> JSONResponse:
        """The owner's changes from the dashboard (who, what, when), newest first."""
        state = _state(request)
        rows = await state.repository.owner_actions(target=target, limit=limit)
        return _reply(state, {"items": [asdict(r) for r in rows]})

    @router.get("/stats")
    async def stats(
        request: Request, date_from: str | None = None, date_to: str | None = None
    ) -> JSONResponse:
        """The home page's measures for the local days [date_from, date_to] (default: 30 days
        to today), in all and day by day."""
        state = _state(request)
        today = state.now().astimezone(state.profile.tz).date()
        try:
            last = parse_day("date_to", date_to) or today
            first = parse_day("date_from", date_from) or last - timedelta(days=29)
            data = await stats_for(state, first, last)
        except BadQuery as exc:
            raise _bad(exc) from None
        return _reply(state, data)

    return router

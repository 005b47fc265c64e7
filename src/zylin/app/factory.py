"""Assembles the FastAPI app from its routers; the server's state opens in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from zylin.app.calls import calls_router
from zylin.app.limits import MAX_WEBHOOK_BYTES, BodySizeLimit, WebSocketMessageCap
from zylin.app.twilio_auth import signed_form
from zylin.config import Settings
from zylin.fallback import legacy_router
from zylin.owner import api_router, dashboard_router
from zylin.owner.metrics_route import metrics_router
from zylin.state import open_app_state, utc_now


def build_app(
    settings: Settings,
    *,
    build_worker: Callable[..., Any],
    now: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The app for these settings; `build_worker` builds each call's pipeline (bot.py)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_app_state(settings, build_worker=build_worker, now=now) as state:
            app.state.zylin = state
            yield

    app = FastAPI(title="Zylin", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_WEBHOOK_BYTES)
    app.add_middleware(WebSocketMessageCap)
    app.include_router(calls_router())  # Twilio webhook, media WebSocket, health
    app.include_router(api_router(), prefix="/api")  # owner's JSON API (ADMIN_TOKEN)
    app.include_router(dashboard_router())  # owner's pages under /dashboard
    app.include_router(metrics_router())  # GET /metrics (Prometheus)
    app.include_router(legacy_router(signed_form))  # legacy <Record> path, /twilio/status
    return app

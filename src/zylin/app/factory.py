"""Assembles the FastAPI app from its routers; the server's state opens in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from zylin.app.browser_phone import browser_phone_router
from zylin.app.calls import calls_router
from zylin.app.heap import freeze_startup_heap
from zylin.app.limits import MAX_WEBHOOK_BYTES, BodySizeLimit, WebSocketMessageCap
from zylin.app.shutdown import GracefulShutdown
from zylin.app.twilio_auth import signed_form
from zylin.call import vad
from zylin.call.capacity import renew_slots
from zylin.config import Settings
from zylin.fallback import legacy_router
from zylin.owner import api_router, dashboard_router
from zylin.owner.metrics_route import metrics_router
from zylin.owner.questions import questions_router
from zylin.owner.screening_page import screening_router
from zylin.state import open_app_state, utc_now


def build_app(
    settings: Settings,
    *,
    build_worker: Callable[..., Any],
    now: Callable[[], datetime] = utc_now,
    handle_sigterm: bool = False,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app for these settings; `build_worker` builds each call's pipeline (bot.py).

    For a server process of its own, not for an app a test runs inside its event loop:
    `handle_sigterm` drains calls on SIGTERM (`GracefulShutdown`); `freeze_heap` moves the
    start-up objects out of the garbage collector's reach (`freeze_startup_heap`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_app_state(settings, build_worker=build_worker, now=now) as state:
            await asyncio.to_thread(vad.warm_up)  # the first call must not pay for the model
            if freeze_heap:
                freeze_startup_heap()
            app.state.zylin = state
            renewing = asyncio.create_task(renew_slots(state), name="renew-call-slots")
            shutdown = GracefulShutdown(state, settings.shutdown_grace_secs)
            if handle_sigterm:
                shutdown.install()
            try:
                yield
            finally:
                renewing.cancel()
                if handle_sigterm:
                    shutdown.uninstall()

    app = FastAPI(title="Zylin", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_WEBHOOK_BYTES)
    app.add_middleware(WebSocketMessageCap)
    app.include_router(calls_router())  # Twilio webhook, media WebSocket, health
    app.include_router(api_router(), prefix="/api")  # owner's JSON API (ADMIN_TOKEN)
    app.include_router(dashboard_router())  # owner's pages under /dashboard
    app.include_router(browser_phone_router())  # /dashboard/phone: call Zylin from a browser
    app.include_router(questions_router())  # unanswered questions, "add to FAQ"
    app.include_router(screening_router())  # the blocklist, screened calls
    app.include_router(metrics_router())  # GET /metrics (Prometheus)
    app.include_router(legacy_router(signed_form))  # legacy <Record> path, /twilio/status
    return app

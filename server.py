"""Zylin's FastAPI app: Twilio webhooks, the media WebSocket, health. Routes only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import Response
from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zylin.app.state import AppState, open_app_state, utc_now
from zylin.call.session import CLOSE_POLICY_VIOLATION, run_call
from zylin.config import Settings
from zylin.fallback import legacy_redirect_twiml, legacy_router
from zylin.logging_setup import configure_logging
from zylin.owner import api_router, dashboard_router
from zylin.owner.metrics_route import metrics_router
from zylin.telephony import mask_phone, public_url_for, stream_url_from_public, twiml_connect_stream

# No request Zylin serves (Twilio forms, the dashboard's sign-in) comes near this.
MAX_WEBHOOK_BYTES = 64 * 1024
# Twilio's media messages are ~250 bytes; `main` caps what uvicorn will buffer per message.
MAX_WS_MESSAGE_BYTES = 256 * 1024


class _BodyTooLarge(Exception):
    """Raised inside `BodySizeLimit`'s receive wrapper; never escapes the middleware."""


class BodySizeLimit:
    """Refuses HTTP request bodies over `max_bytes` with 413, chunked ones included.

    A `Content-Length` check alone is bypassed by `Transfer-Encoding: chunked`, so the body is
    also counted as it streams in and the request is cut off once it passes the cap.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_WEBHOOK_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await _too_large(send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            logger.warning(f"Refused {scope.get('path', '?')}: request body over the size cap")
            if not started:
                await _too_large(send)


async def _too_large(send: Send) -> None:
    body = b"request body too large"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, *, now: Callable[[], datetime] = utc_now) -> FastAPI:
    """The app for these settings; the lifespan opens the database and clients once."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_app_state(settings, now=now) as state:
            app.state.zylin = state
            yield

    app = FastAPI(title="Zylin", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_WEBHOOK_BYTES)
    app.include_router(api_router(), prefix="/api")  # owner's JSON API (ADMIN_TOKEN)
    app.include_router(dashboard_router())  # owner's pages under /dashboard
    app.include_router(metrics_router())  # GET /metrics (Prometheus)
    app.include_router(legacy_router(_signed_form))  # legacy <Record> path, /twilio/status

    @app.get("/health")
    async def health(request: Request) -> dict:
        state: AppState = request.app.state.zylin
        return {
            "status": "ok",
            "business": state.profile.name,
            "active_calls": len(state.active_calls),
            "demo_mode": settings.any_demo_engine,
            "engines": {
                "stt": settings.effective_stt.value,
                "llm": settings.effective_llm.value,
                "tts": settings.effective_tts.value,
            },
            "configured": {
                "deepgram": bool(settings.deepgram_api_key),
                "openai": bool(settings.openai_api_key),
                "twilio": bool(settings.twilio_account_sid and settings.twilio_auth_token),
                "public_url": bool(settings.public_url),
            },
        }

    @app.post("/twilio/voice")
    async def voice(request: Request) -> Response:
        state: AppState = request.app.state.zylin
        form = await _signed_form(request, state, "/twilio/voice")
        if form is None:
            return Response("invalid signature", status_code=403)
        call_sid = form.get("CallSid", "")
        if not call_sid.startswith("CA") or len(call_sid) > 64:
            return Response("missing CallSid", status_code=400)
        if len(state.active_calls) >= settings.max_concurrent_calls:
            logger.bind(call_sid=call_sid).warning(
                f"At the cap of {settings.max_concurrent_calls} streamed calls: legacy path"
            )
            twiml = legacy_redirect_twiml(settings.public_url, reason="capacity")
            return Response(twiml, media_type="application/xml")
        token = state.tokens.issue(call_sid)
        stream_url = stream_url_from_public(
            _public_base(request, settings), f"media-stream/{token}"
        )
        logger.bind(call_sid=call_sid).info(
            f"Incoming call from {mask_phone(form.get('From'))}: connecting the media stream"
        )
        twiml = twiml_connect_stream(
            stream_url,
            {"callerPhone": form.get("From", ""), "calledPhone": form.get("To", "")},
        )
        return Response(twiml, media_type="application/xml")

    @app.websocket("/media-stream/{token}")
    async def media_stream(websocket: WebSocket, token: str) -> None:
        state: AppState = websocket.app.state.zylin
        if not _upgrade_signed(websocket, state, token):
            logger.warning("Media stream refused: bad or missing upgrade signature")
            await websocket.close(code=CLOSE_POLICY_VIOLATION)
            return
        await websocket.accept()
        await run_call(websocket, token, state)

    return app


def _public_base(request: Request, settings: Settings) -> str:
    """`PUBLIC_URL` when set (behind ngrok or a proxy); else the URL this request came to."""
    if settings.public_url:
        return settings.public_url
    return str(request.base_url)


def signatures_required(settings: Settings) -> bool:
    """Check signatures unless turned off; without a token only demo engines may run unsigned."""
    if not settings.twilio_validate_signatures:
        return False
    return bool(settings.twilio_auth_token) or not settings.any_demo_engine


async def _signed_form(request: Request, state: AppState, path: str) -> dict[str, str] | None:
    """The webhook's form fields if Twilio signed them (or checks are off), else None.

    `BodySizeLimit` has already capped the body, so reading the form here is bounded.
    """
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not signatures_required(state.settings):
        return form
    if state.signatures is None:
        logger.warning(f"Refused {path}: TWILIO_AUTH_TOKEN is not set, cannot check signature")
        return None
    url = (
        public_url_for(state.settings.public_url, path, request.url.query)
        if state.settings.public_url
        else str(request.url)
    )
    if not state.signatures.valid(url, form, request.headers.get("x-twilio-signature")):
        logger.warning(f"Refused {path}: invalid Twilio signature")
        return None
    return form


def _upgrade_signed(websocket: WebSocket, state: AppState, token: str) -> bool:
    """Twilio signs the upgrade over the Stream URL exactly as our TwiML gave it."""
    if not signatures_required(state.settings):
        return True
    if state.signatures is None:
        return False
    base = state.settings.public_url or str(websocket.base_url)
    url = stream_url_from_public(base, f"media-stream/{token}")
    return state.signatures.valid(url, {}, websocket.headers.get("x-twilio-signature"))


def app_from_env() -> FastAPI:
    """An app configured from the environment, for `uvicorn --factory` with several workers."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def main() -> None:
    """`python server.py`: run with uvicorn on HOST:PORT."""
    import uvicorn

    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws_max_size=MAX_WS_MESSAGE_BYTES,
    )


if __name__ == "__main__":
    main()

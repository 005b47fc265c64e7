"""Size caps on what a client may send: HTTP bodies and WebSocket messages."""

from __future__ import annotations

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No request Zylin serves (Twilio forms, the dashboard's sign-in) comes near this.
MAX_WEBHOOK_BYTES = 64 * 1024
# Twilio's media messages are ~250 bytes.
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


class WebSocketMessageCap:
    """Drops WebSocket messages over `max_bytes` before any route sees them; the call goes on.

    The server's own limit (`ws_max_size`, which `./zylin serve` sets) keeps it from buffering
    more than that; this keeps the same cap in an app started any other way (e.g.
    `uvicorn --factory server:app_from_env`, whose default is 16 MiB).
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_WS_MESSAGE_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        dropped = 0

        async def capped_receive() -> Message:
            nonlocal dropped
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or not _over(message, self.max_bytes):
                    return message
                dropped += 1
                if dropped == 1:
                    logger.warning(
                        f"Dropped a WebSocket message over {self.max_bytes} bytes "
                        f"on {scope.get('path', '?')}"
                    )

        await self.app(scope, capped_receive, send)


def _over(message: Message, max_bytes: int) -> bool:
    data = message.get("bytes")
    if data is not None:
        return len(data) > max_bytes
    text = message.get("text") or ""
    if len(text) * 4 <= max_bytes:  # UTF-8 is at most 4 bytes a character: no need to encode
        return False
    return len(text.encode()) > max_bytes

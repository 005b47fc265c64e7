"""Deepgram's pre-recorded transcription, `POST /v1/listen`, as the Deepgram SDK calls it.

The legacy record-then-answer path sends Twilio's recording here; the live fake
(`deepgram_server.py`) speaks only the WebSocket protocol.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from devtools.fakes._base import FakeServer
from devtools.fakes.stack import DEEPGRAM_KEY


class DeepgramPrerecorded(FakeServer):
    """Deepgram's pre-recorded `POST /v1/listen` (the live fake only speaks WebSocket)."""

    def __init__(
        self, transcript: str, *, api_key: str = DEEPGRAM_KEY, fail_status: int | None = None
    ) -> None:
        self.transcript = transcript
        self.api_key = api_key
        self.fail_status = fail_status
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    @property
    def ws_url(self) -> str:
        """The base URL as `DEEPGRAM_BASE_URL` holds it for the live API (ws://)."""
        return self.base_url.replace("http://", "ws://")

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/listen", self._listen)

    async def _listen(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"query": dict(request.query), "bytes": len(body)})
        if request.headers.get("Authorization") != f"Token {self.api_key}":
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        if self.fail_status is not None:
            return web.json_response({"err_code": "FAKE_FAILURE"}, status=self.fail_status)
        alternative = {"transcript": self.transcript, "confidence": 0.98, "words": []}
        return web.json_response(
            {"metadata": {}, "results": {"channels": [{"alternatives": [alternative]}]}}
        )

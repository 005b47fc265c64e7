"""What the server sends on the stream: bot audio to the playout, marks, clears, oddities."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from devtools.caller.audio import mulaw_decode
from devtools.caller.errors import CallError
from devtools.caller.playout import Playout
from devtools.caller.sender import StreamSender
from devtools.caller.timeline import Timeline
from devtools.caller.turns import Turns


class Inbound:
    """Handles each server message as Twilio would; anything Twilio would reject is logged."""

    def __init__(
        self, timeline: Timeline, playout: Playout, turns: Turns, sender: StreamSender
    ) -> None:
        self.marks_echoed: list[tuple[str, float, bool]] = []  # (name, when, cleared)
        self._timeline = timeline
        self._playout = playout
        self._turns = turns
        self._sender = sender

    async def run(self, ws: ClientConnection) -> None:
        """Handle messages until the socket closes."""
        record = self._timeline.record
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if isinstance(message, bytes):
                    record("server_binary", size=len(message))
                    continue
                try:
                    data = json.loads(message)
                    kind = data.get("event") if isinstance(data, dict) else None
                except json.JSONDecodeError:
                    record("server_bad_json", size=len(message))
                    continue
                if isinstance(data, dict) and data.get("streamSid") != self._sender.stream_sid:
                    record("server_wrong_stream_sid", event=kind)
                if kind == "media":
                    self._on_media(data)
                elif kind == "mark":
                    self._on_mark(data)
                elif kind == "clear":
                    await self._on_clear()
                else:
                    record("server_unknown", event=kind)

    def _on_media(self, data: dict[str, Any]) -> None:
        t = self._timeline.now()
        try:
            ulaw = base64.b64decode(data["media"]["payload"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            self._timeline.record("server_bad_media")
            return
        self._playout.receive(mulaw_decode(ulaw), t)
        self._turns.on_bot_media(t)

    def _on_mark(self, data: dict[str, Any]) -> None:
        try:
            name = str(data["mark"]["name"])
        except (KeyError, TypeError):
            self._timeline.record("server_bad_mark")
            return
        self._playout.add_mark(name)

    async def _on_clear(self) -> None:
        """Drop queued-but-unplayed audio now and echo every pending mark at once."""
        pending = self._playout.clear(self._timeline.now())
        self._turns.on_clear()
        for name in pending:
            await self.echo_mark(name, cleared=True)

    async def echo_mark(self, name: str, *, cleared: bool = False) -> None:
        """Echo a mark back, as Twilio does when its audio played (or was cleared)."""
        with contextlib.suppress(ConnectionClosed, CallError):
            await self._sender.mark(name)
            self.marks_echoed.append((name, self._timeline.now(), cleared))
            self._timeline.record("mark_echo", name=name, cleared=cleared)

"""The caller's half of Twilio's Media Streams protocol: each message it sends, in order."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection

from devtools.caller.audio import RATE
from devtools.caller.errors import CallError


class StreamSender:
    """Sends Twilio's messages on the stream, numbering them under one lock as Twilio does."""

    def __init__(self, stream_sid: str, account_sid: str, call_sid: str) -> None:
        self.stream_sid = stream_sid
        self.account_sid = account_sid
        self.call_sid = call_sid
        self.ws: ClientConnection | None = None
        self.media_before_start = 0
        self._lock = asyncio.Lock()
        self._seq = 0
        self._chunk = 0

    async def send_json(self, message: dict[str, Any]) -> None:
        """Send one JSON text frame; a `sequenceNumber` key gets the next number."""
        if self.ws is None:
            raise CallError("call not connected")
        async with self._lock:
            if "sequenceNumber" in message:
                self._seq += 1
                message["sequenceNumber"] = str(self._seq)
            await self.ws.send(json.dumps(message, separators=(",", ":")))

    async def send_raw(self, data: str | bytes) -> None:
        """Send an arbitrary text or binary frame, unnumbered."""
        if self.ws is None:
            raise CallError("call not connected")
        async with self._lock:
            await self.ws.send(data)

    async def connected(self) -> None:
        """The first message of every Twilio stream."""
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start_message(self, parameters: Mapping[str, str]) -> dict[str, Any]:
        """Twilio's `start`, carrying the TwiML `<Parameter>`s as `customParameters`."""
        return {
            "event": "start",
            "sequenceNumber": "",
            "streamSid": self.stream_sid,
            "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
                "customParameters": dict(parameters),
            },
        }

    async def media(self, ulaw: bytes) -> None:
        """One `media` message; timestamps count 20 ms chunks from `start`."""
        self._chunk += 1
        timestamp = max(0, self._chunk - 1 - self.media_before_start) * 20
        await self.send_json(
            {
                "event": "media",
                "sequenceNumber": "",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(timestamp),
                    "payload": base64.b64encode(ulaw).decode("ascii"),
                },
            }
        )

    async def mark(self, name: str) -> None:
        """Echo a mark back (its audio has played, or was cleared)."""
        await self.send_json(
            {
                "event": "mark",
                "sequenceNumber": "",
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    async def dtmf(self, digit: str) -> None:
        """One key press."""
        await self.send_json(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": "",
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def stop(self) -> None:
        """Twilio's `stop` (the caller hung up)."""
        await self.send_json(
            {
                "event": "stop",
                "sequenceNumber": "",
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )

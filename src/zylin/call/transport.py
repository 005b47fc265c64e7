"""The call's media WebSocket transport: Pipecat's, with its audio sent a little ahead."""

from __future__ import annotations

import asyncio
import time

from fastapi import WebSocket
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)


def pace(now: float, heard_at: float, chunk_secs: float, ahead_secs: float) -> tuple[float, float]:
    """After sending one chunk at `now`: when the caller will have heard everything sent so far
    (`heard_at` was that time before this chunk; 0 when nothing is queued), and how long to
    wait before the next chunk so that no more than `ahead_secs` stays queued."""
    heard_at = max(now, heard_at) + chunk_secs
    return heard_at, max(0.0, heard_at - ahead_secs - now)


class SendAheadOutputTransport(FastAPIWebsocketOutputTransport):
    """Keeps up to `ahead_secs` of Zylin's audio queued at Twilio.

    Pipecat paces the audio at exactly real time, so Twilio's playback queue holds nothing:
    every moment the event loop is late becomes a gap the caller hears, and the pacing
    restarts from the late moment instead of catching up. Twilio plays what it has queued, and
    a barge-in `clear` drops it, so a short lead costs nothing in responsiveness.
    """

    def __init__(self, *args, ahead_secs: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._ahead_secs = ahead_secs

    async def _write_audio_sleep(self) -> None:
        """`_next_send_time` here is when the caller will have heard all audio sent (Pipecat
        resets it to 0 on an interruption, when Twilio's queue is cleared)."""
        self._next_send_time, wait = pace(
            time.monotonic(), self._next_send_time, self._send_interval, self._ahead_secs
        )
        await asyncio.sleep(wait)


class MediaStreamTransport(FastAPIWebsocketTransport):
    """`FastAPIWebsocketTransport` whose output sends ahead (see `SendAheadOutputTransport`)."""

    def __init__(
        self, websocket: WebSocket, params: FastAPIWebsocketParams, *, ahead_secs: float
    ) -> None:
        super().__init__(websocket, params)
        self._output = SendAheadOutputTransport(
            self, self._client, self._params, name=self._output_name, ahead_secs=ahead_secs
        )

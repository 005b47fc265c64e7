"""Reads Twilio's `connected` and `start` messages before a call's pipeline exists."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

MAX_HANDSHAKE_MESSAGES = 20
MAX_HANDSHAKE_BYTES = 64 * 1024


class HandshakeError(ValueError):
    """The socket did not start a Twilio stream properly; the message says how."""


@dataclass(frozen=True)
class StreamStart:
    """What Twilio's `start` message told us about the stream."""

    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000


async def read_stream_start(websocket: WebSocket, *, timeout_secs: float = 10.0) -> StreamStart:
    """Wait for `start`, skipping `connected` and anything Twilio may send early.

    Stricter than Pipecat's `parse_telephony_websocket` on purpose: it tolerates media or junk
    before `start` (bounded in count and size), insists on the fields we rely on, and times out,
    so a stranger's socket never reaches a pipeline.
    """
    try:
        return await asyncio.wait_for(_read_start(websocket), timeout_secs)
    except TimeoutError:
        raise HandshakeError(f"no start message within {timeout_secs:.0f} s") from None


async def _read_start(websocket: WebSocket) -> StreamStart:
    for _ in range(MAX_HANDSHAKE_MESSAGES):
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            raise HandshakeError("socket closed before start") from None
        if message["type"] == "websocket.disconnect":
            raise HandshakeError("socket closed before start")
        text = message.get("text")
        if text is None or len(text) > MAX_HANDSHAKE_BYTES:
            continue
        try:
            event = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # "[[[[..." nests past the C parser
            continue
        if not isinstance(event, dict) or event.get("event") != "start":
            continue
        return _parse_start(event)
    raise HandshakeError(f"no start among the first {MAX_HANDSHAKE_MESSAGES} messages")


def _parse_start(event: dict) -> StreamStart:
    start = event.get("start")
    if not isinstance(start, dict):
        raise HandshakeError("start message without a start object")
    stream_sid = start.get("streamSid") or event.get("streamSid")
    call_sid = start.get("callSid")
    if not isinstance(stream_sid, str) or not isinstance(call_sid, str):
        raise HandshakeError("start message lacks streamSid or callSid")
    raw_format = start.get("mediaFormat")
    media_format = raw_format if isinstance(raw_format, dict) else {}
    encoding = str(media_format.get("encoding", "audio/x-mulaw"))
    rate = media_format.get("sampleRate", 8000)
    if encoding != "audio/x-mulaw" or rate != 8000:
        raise HandshakeError(f"unsupported media format {encoding} at {rate} Hz")
    params = start.get("customParameters")
    custom = (
        {str(k): str(v) for k, v in params.items() if isinstance(v, (str, int, float))}
        if isinstance(params, dict)
        else {}
    )
    return StreamStart(
        stream_sid=stream_sid,
        call_sid=call_sid,
        account_sid=str(start.get("accountSid", "")),
        custom_parameters=custom,
        encoding=encoding,
        sample_rate=int(rate),
    )

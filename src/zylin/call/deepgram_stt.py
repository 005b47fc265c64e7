"""Deepgram STT whose end-of-speech results let the caller's turn end without a wait, and
whose audio goes out uncompressed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from loguru import logger
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.deepgram.stt import DeepgramSTTService
from websockets.extensions import Extension
from websockets.frames import Frame as WebSocketFrame


class EndpointingDeepgramSTTService(DeepgramSTTService):
    """`DeepgramSTTService` that counts Deepgram's end-of-speech finals as finalized.

    Pipecat marks a transcript finalized only when it answers the `Finalize` sent at the
    VAD's stop. When Deepgram's own endpointing has already sent the utterance's final
    (`speech_final`), that answer is empty, so Pipecat's turn-stop strategy waited out its STT
    safety net (Deepgram's p99, 0.35 s after the speech, so 0.15 s after the VAD's stop) before
    the reply could start. `speech_final` says Deepgram heard the speech end. If the caller goes
    on, an interim result clears the strategy's flag again, and a final that came before the
    speech the VAD heard had ended is not trusted at its stop (call/turn_stop.py).

    The caller's audio is sent uncompressed (`send_uncompressed`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._uncompressed: object | None = None  # the connection already set to send plain

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Mark a `speech_final` transcript finalized before Pipecat reports it."""
        if isinstance(frame, TranscriptionFrame) and getattr(frame.result, "speech_final", False):
            frame.finalized = True
        await super().push_frame(frame, direction)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Pipecat's send, on a connection set to send uncompressed (each new one, once)."""
        connection = self._connection
        if connection is not None and connection is not self._uncompressed:
            self._uncompressed = connection
            send_uncompressed(connection)
        async for frame in super().run_stt(audio):
            yield frame


class _DecodeOnly(Extension):
    """A negotiated extension that still decodes what the peer sends, but encodes nothing."""

    def __init__(self, negotiated: Extension) -> None:
        self.name = negotiated.name
        self._negotiated = negotiated

    def decode(self, frame: WebSocketFrame, *, max_size: int | None = None) -> WebSocketFrame:
        return self._negotiated.decode(frame, max_size=max_size)

    def encode(self, frame: WebSocketFrame) -> WebSocketFrame:
        return frame


def send_uncompressed(connection: object) -> None:
    """Send on the Deepgram socket without per-message deflate; replies are still inflated.

    The SDK's `websockets` client offers deflate, and a server that accepts it had every 20 ms
    of PCM compressed: audio barely shrinks, and deflate was ~10 % of a listening call's CPU
    (py-spy). The SDK has no option for it. RFC 7692 lets a sender leave any message
    uncompressed (RSV1 unset), so only our side's encoding is turned off.
    """
    websocket = getattr(connection, "_websocket", None)
    extensions = getattr(websocket, "extensions", None)
    if not isinstance(extensions, list):
        logger.warning("Deepgram socket without a websockets extension list: sends unchanged")
        return
    websocket.extensions = [  # type: ignore[union-attr]
        _DecodeOnly(ext) if ext.name == "permessage-deflate" else ext for ext in extensions
    ]

"""Deepgram STT whose end-of-speech results let the caller's turn end without a wait."""

from __future__ import annotations

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.deepgram.stt import DeepgramSTTService


class EndpointingDeepgramSTTService(DeepgramSTTService):
    """`DeepgramSTTService` that counts Deepgram's end-of-speech finals as finalized.

    Pipecat marks a transcript finalized only when it answers the `Finalize` sent at the
    VAD's stop. When Deepgram's own endpointing has already sent the utterance's final
    (`speech_final`), that answer is empty, so Pipecat's turn-stop strategy waited out its STT
    safety net (Deepgram's p99, 0.35 s after the speech, so 0.15 s after the VAD's stop) before
    the reply could start. `speech_final` says Deepgram heard the speech end. If the caller goes
    on, an interim result clears the strategy's flag again, and a final that came before the
    speech the VAD heard had ended is not trusted at its stop (call/turn_stop.py).
    """

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Mark a `speech_final` transcript finalized before Pipecat reports it."""
        if isinstance(frame, TranscriptionFrame) and getattr(frame.result, "speech_final", False):
            frame.finalized = True
        await super().push_frame(frame, direction)

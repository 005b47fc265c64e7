"""The browser phone's live transcript: what the caller said and Zylin spoke, as socket events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    Frame,
    OutputTransportMessageUrgentFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSTextFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

TRANSCRIPT_EVENT = "transcript"
MAX_LINE_CHARS = 2000


class TranscriptEvents(BaseObserver):
    """Turns the STT's transcriptions and the TTS's spoken text into `transcript` events.

    The events ride the call's own socket next to Twilio's `media`, `mark` and `clear`
    (`{"event": "transcript", "role": "caller"|"zylin", "text": ..., "start": bool}`). They are
    queued into the pipeline as urgent transport messages, so the transport's own writer sends
    them (the socket never has a second writer). `start` says a new utterance of Zylin's
    begins; the page joins the pieces of one utterance, and consecutive caller pieces. The
    stored transcript is still the call record's (`zylin.call.record`); this is the live view.
    """

    def __init__(self, send: Callable[[Frame], Awaitable[None]], **kwargs) -> None:
        super().__init__(**kwargs)
        self._send = send
        self._new_utterance = True

    async def on_push_frame(self, data: FramePushed) -> None:
        """Watch only what the STT and TTS services push downstream (each frame once)."""
        if data.direction != FrameDirection.DOWNSTREAM:
            return
        frame, source = data.frame, data.source
        if isinstance(source, TTSService):
            if isinstance(frame, TTSStartedFrame):
                self._new_utterance = True
            elif isinstance(frame, TTSTextFrame) and frame.text.strip():
                await self._event("zylin", frame.text, start=self._new_utterance)
                self._new_utterance = False
        elif (
            isinstance(source, STTService)
            and isinstance(frame, TranscriptionFrame)
            and frame.text.strip()
        ):
            await self._event("caller", frame.text, start=False)

    async def _event(self, role: str, text: str, *, start: bool) -> None:
        message = {
            "event": TRANSCRIPT_EVENT,
            "role": role,
            "text": " ".join(text.split())[:MAX_LINE_CHARS],
            "start": start,
        }
        await self._send(OutputTransportMessageUrgentFrame(message=message))


def add_transcript_events(worker: PipelineWorker) -> None:
    """Give this call's worker a live transcript on its socket."""
    worker.add_observer(TranscriptEvents(worker.queue_frame))

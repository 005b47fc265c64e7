"""A reply's latency for the call record, read from Pipecat's `UserBotLatencyObserver`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)
from pipecat.processors.frame_processor import FrameDirection


@dataclass
class TurnLatency:
    """One reply's latency, in milliseconds, measured from the caller's last voiced audio."""

    stt_ms: float | None = None
    llm_ttfb_ms: float | None = None
    tts_ttfb_ms: float | None = None
    voice_to_voice_ms: float | None = None


def turn_latency(
    breakdown: LatencyBreakdown,
    *,
    stt_name: str,
    llm_name: str,
    tts_name: str,
    transcript_at: float | None = None,
    withdrawn_at: float | None = None,
) -> TurnLatency | None:
    """The record's figures for one reply; None for the greeting (no caller turn before it).

    Voice-to-voice runs from the caller's last voiced audio (the VAD stop minus its
    `stop_secs`) to the first bot audio the output transport wrote. STT runs from the same
    start to the final transcript (`transcript_at` when it came before the VAD's stop, which
    Pipecat's breakdown does not name); LLM and TTS are the services' own TTFB for this reply.
    An LLM request started before the last speculative reply was withdrawn (`withdrawn_at`)
    did not answer: its TTFB, cut short by the withdrawal, is not this reply's.
    """
    start = breakdown.user_turn_start_time
    if breakdown.measured_from != MeasuredFrom.USER_SILENCE or start is None:
        return None
    latency = TurnLatency(voice_to_voice_ms=_ms(breakdown.total_secs))
    for part in breakdown.contributions:
        if part.key == "transcription" and latency.stt_ms is None:
            latency.stt_ms = _ms(part.start_time + part.duration_secs - start)
    if latency.stt_ms is None and transcript_at is not None:
        latency.stt_ms = _ms(transcript_at - start)
    for ttfb in breakdown.ttfb:
        if withdrawn_at is not None and ttfb.start_time < withdrawn_at:
            continue
        if ttfb.processor == llm_name and latency.llm_ttfb_ms is None:
            latency.llm_ttfb_ms = _ms(ttfb.duration_secs)
        elif ttfb.processor == tts_name and latency.tts_ttfb_ms is None:
            latency.tts_ttfb_ms = _ms(ttfb.duration_secs)
    return latency


class _RecordLatencyObserver(UserBotLatencyObserver):
    """Pipecat's latency observer that also notes when the turn's last final transcript came,
    and when a speculative reply was last withdrawn.

    Pipecat names the transcription stage only when the transcript follows the VAD's stop;
    Deepgram's own end-of-speech final usually comes before it, and the STT figure would be
    missing from exactly the fastest turns.
    """

    def __init__(self, time_source: Callable[[], float]) -> None:
        super().__init__(time_source=time_source)
        self._clock = time_source
        self._transcript_id: int | None = None
        self.transcript_at: float | None = None
        self.withdrawn_at: float | None = None

    async def on_push_frame(self, data: FramePushed) -> None:
        """Note a final transcript where it was first pushed (it crosses several processors)."""
        if data.direction == FrameDirection.DOWNSTREAM:
            frame = data.frame
            if isinstance(frame, VADUserStartedSpeakingFrame):
                self.transcript_at = None
            elif isinstance(frame, TranscriptionFrame) and frame.id != self._transcript_id:
                self._transcript_id = frame.id
                self.transcript_at = self._clock()
            elif isinstance(frame, EagerEndOfTurnCancelFrame):
                self.withdrawn_at = self._clock()
        await super().on_push_frame(data)


def latency_observer(
    *,
    stt_name: str,
    llm_name: str,
    tts_name: str,
    on_latency: Callable[[TurnLatency], None],
    time_source: Callable[[], float] | None = None,
) -> UserBotLatencyObserver:
    """Pipecat's latency observer, reporting each measured reply to `on_latency`."""
    observer = _RecordLatencyObserver(time_source or time.time)

    async def report(_observer: UserBotLatencyObserver, breakdown: LatencyBreakdown) -> None:
        latency = turn_latency(
            breakdown,
            stt_name=stt_name,
            llm_name=llm_name,
            tts_name=tts_name,
            transcript_at=observer.transcript_at,
            withdrawn_at=observer.withdrawn_at,
        )
        if latency is not None:
            on_latency(latency)

    observer.add_event_handler("on_latency_breakdown", report)
    return observer


def _ms(secs: float) -> float:
    return max(0.0, secs * 1000)


__all__ = ["TurnLatency", "latency_observer", "turn_latency"]

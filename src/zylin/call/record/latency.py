"""A reply's latency for the call record, read from Pipecat's `UserBotLatencyObserver`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)


@dataclass
class TurnLatency:
    """One reply's latency, in milliseconds, measured from the caller's last voiced audio."""

    stt_ms: float | None = None
    llm_ttfb_ms: float | None = None
    tts_ttfb_ms: float | None = None
    voice_to_voice_ms: float | None = None


def turn_latency(
    breakdown: LatencyBreakdown, *, stt_name: str, llm_name: str, tts_name: str
) -> TurnLatency | None:
    """The record's figures for one reply; None for the greeting (no caller turn before it).

    Voice-to-voice runs from the caller's last voiced audio (the VAD stop minus its
    `stop_secs`) to the first bot audio the output transport wrote. STT runs from the same
    start to the final transcript; LLM and TTS are the services' own TTFB for this reply.
    """
    start = breakdown.user_turn_start_time
    if breakdown.measured_from != MeasuredFrom.USER_SILENCE or start is None:
        return None
    latency = TurnLatency(voice_to_voice_ms=_ms(breakdown.total_secs))
    for part in breakdown.contributions:
        if part.key == "transcription" and latency.stt_ms is None:
            latency.stt_ms = _ms(part.start_time + part.duration_secs - start)
    for ttfb in breakdown.ttfb:
        if ttfb.processor == llm_name and latency.llm_ttfb_ms is None:
            latency.llm_ttfb_ms = _ms(ttfb.duration_secs)
        elif ttfb.processor == tts_name and latency.tts_ttfb_ms is None:
            latency.tts_ttfb_ms = _ms(ttfb.duration_secs)
    return latency


def latency_observer(
    *,
    stt_name: str,
    llm_name: str,
    tts_name: str,
    on_latency: Callable[[TurnLatency], None],
    time_source: Callable[[], float] | None = None,
) -> UserBotLatencyObserver:
    """Pipecat's latency observer, reporting each measured reply to `on_latency`."""
    observer = (
        UserBotLatencyObserver(time_source=time_source)
        if time_source is not None
        else UserBotLatencyObserver()
    )

    async def report(_observer: UserBotLatencyObserver, breakdown: LatencyBreakdown) -> None:
        latency = turn_latency(breakdown, stt_name=stt_name, llm_name=llm_name, tts_name=tts_name)
        if latency is not None:
            on_latency(latency)

    observer.add_event_handler("on_latency_breakdown", report)
    return observer


def _ms(secs: float) -> float:
    return max(0.0, secs * 1000)


__all__ = ["TurnLatency", "latency_observer", "turn_latency"]

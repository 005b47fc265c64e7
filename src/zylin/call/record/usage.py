"""What each paid service used on a call, from the usage Pipecat's services report."""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import MetricsFrame
from pipecat.metrics.metrics import (
    LLMUsageMetricsData,
    STTUsageMetricsData,
    TTSUsageMetricsData,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed


@dataclass
class CallUsage:
    """A call's usage, summed over every report of every service.

    `stt_reported_secs` is the audio the STT service reported sending (Pipecat's STT services
    report it as they stream); an engine that reports none is priced on the call's length,
    since streaming STT bills all the audio it is sent.
    """

    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    tts_chars: int = 0
    stt_reported_secs: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """For the call record's `usage` column.

        Token counts are `llm_in` / `llm_out`: a key naming "token" is blanked by the owner's
        API as a possible secret.
        """
        return {
            "llm_in": self.llm_input_tokens,
            "llm_out": self.llm_output_tokens,
            "tts_chars": self.tts_chars,
            "stt_reported_secs": round(self.stt_reported_secs, 1),
        }


class UsageObserver(BaseObserver):
    """Sums the `MetricsFrame`s Pipecat's services push (`enable_usage_metrics=True`).

    LLM services report tokens per completion (OpenAI's count of input is gross of the prompt
    cache), TTS services the characters of each request, some STT services seconds of audio.
    """

    def __init__(self) -> None:
        super().__init__()
        self.usage = CallUsage()

    async def on_push_frame(self, data: FramePushed) -> None:
        """Add the usage in a metrics frame, counted once (at its first push)."""
        if not data.first_push or not isinstance(data.frame, MetricsFrame):
            return
        usage = self.usage
        for item in data.frame.data:
            if isinstance(item, LLMUsageMetricsData):
                usage.llm_input_tokens += item.value.prompt_tokens
                usage.llm_output_tokens += item.value.completion_tokens
            elif isinstance(item, TTSUsageMetricsData):
                usage.tts_chars += item.value
            elif isinstance(item, STTUsageMetricsData):
                usage.stt_reported_secs += item.value.audio_seconds

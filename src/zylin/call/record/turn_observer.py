"""Measures each reply's latency and how much of it the caller heard, from the frames in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    FunctionCallResultFrame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSTextFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

NS = 1_000_000_000


@dataclass
class TurnLatency:
    """One reply's latency, in milliseconds, measured from the caller's last voiced audio."""

    stt_ms: float | None = None
    llm_ttfb_ms: float | None = None
    tts_ttfb_ms: float | None = None
    voice_to_voice_ms: float | None = None


@dataclass(frozen=True)
class CutReply:
    """A reply the caller talked over.

    Pipecat queues a sentence's text behind its audio and drops it on an interruption, so the
    assistant aggregator never sees the sentence that was cut (often the whole reply). This
    keeps what Zylin was saying (`text`), the part the TTS had already voiced (`voiced`), and
    the share of that audio that played before the `clear` (`fraction`).
    """

    text: str
    voiced: str
    fraction: float


@dataclass
class _Pending:
    last_voice_ns: int
    latency: TurnLatency


class TurnObserver(BaseObserver):
    """Watches the pipeline for the figures a call record needs.

    Voice-to-voice runs from the caller's last voiced audio (the VAD stop minus its `stop_secs`)
    to the first bot audio the output transport writes (`BotStartedSpeakingFrame`). STT is last
    voice to final transcript; LLM and TTS are Pipecat's own TTFB metrics for this reply.

    For interrupted replies it keeps the playback clock: when the first audio went out, how much
    audio the TTS produced, and when the interruption (Twilio `clear`) came, so the recorder can
    tell how much of the reply the caller heard, and keeps the reply's text (see `CutReply`).
    """

    def __init__(
        self,
        *,
        stt_name: str,
        llm_name: str,
        tts_name: str,
        on_latency: Callable[[TurnLatency], None],
        on_tool_result: Callable[[str, object], None] | None = None,
    ) -> None:
        super().__init__()
        self._names = {stt_name: "stt", llm_name: "llm", tts_name: "tts"}
        self._on_latency = on_latency
        self._on_tool_result = on_tool_result
        self._pending: _Pending | None = None
        self._speech_start_ns: int | None = None
        self._audio_secs = 0.0
        self._reply: list[str] = []  # the current reply's text, as the LLM wrote it
        self._voiced: list[str] = []  # the text of the audio counted in `_audio_secs`
        self.cut_reply: CutReply | None = None

    def take_cut_reply(self) -> CutReply | None:
        """The last interrupted reply, if it had started playing (None: nothing was heard)."""
        cut, self.cut_reply = self.cut_reply, None
        return cut

    async def on_push_frame(self, data: FramePushed) -> None:
        """Update the figures from one pushed frame (each frame counted at its first push)."""
        if not data.first_push:
            return
        frame, ts = data.frame, data.timestamp
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._pending = _Pending(ts - int(frame.stop_secs * NS), TurnLatency())
        elif isinstance(frame, TranscriptionFrame) and self._pending:
            if self._pending.latency.stt_ms is None:
                self._pending.latency.stt_ms = _ms(ts - self._pending.last_voice_ns)
        elif isinstance(frame, MetricsFrame) and self._pending:
            self._take_ttfb(frame)
        elif isinstance(frame, TTSAudioRawFrame):
            self._audio_secs += len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._reply = []
        elif isinstance(frame, LLMTextFrame):
            self._reply.append(frame.text)
        elif isinstance(frame, TTSSpeakFrame):
            self._reply = [frame.text]
        elif isinstance(frame, TTSTextFrame):  # pushed by the TTS right after its audio
            self._voiced.append(frame.text)
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._speech_start_ns = ts
            if self._pending:
                self._pending.latency.voice_to_voice_ms = _ms(ts - self._pending.last_voice_ns)
                self._on_latency(self._pending.latency)
                self._pending = None
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._audio_secs = 0.0
            self._voiced = []
            self._speech_start_ns = None
        elif isinstance(frame, InterruptionFrame) and self._speech_start_ns is not None:
            played = (ts - self._speech_start_ns) / NS
            total = max(self._audio_secs, 1e-6)
            self.cut_reply = CutReply(
                text="".join(self._reply).strip(),
                voiced=" ".join(t.strip() for t in self._voiced).strip(),
                fraction=max(0.0, min(1.0, played / total)),
            )
            self._speech_start_ns = None
        elif (
            isinstance(frame, FunctionCallResultFrame)
            and data.direction == FrameDirection.DOWNSTREAM  # broadcast: one copy each way
            and self._on_tool_result
        ):
            self._on_tool_result(frame.function_name, frame.result)

    def _take_ttfb(self, frame: MetricsFrame) -> None:
        assert self._pending is not None
        latency = self._pending.latency
        for item in frame.data:
            if not isinstance(item, TTFBMetricsData):
                continue
            stage = self._names.get(item.processor)
            if stage == "llm" and latency.llm_ttfb_ms is None:
                latency.llm_ttfb_ms = item.value * 1000
            elif stage == "tts" and latency.tts_ttfb_ms is None:
                latency.tts_ttfb_ms = item.value * 1000


def _ms(ns: int) -> float:
    return max(0.0, ns / 1_000_000)

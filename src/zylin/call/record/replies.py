"""How much of each reply the caller heard, and which tools ran, from the frames in flight."""

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
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSTextFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

NS = 1_000_000_000


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


class ReplyObserver(BaseObserver):
    """Watches the pipeline for what a call record needs beyond Pipecat's own events.

    For interrupted replies it keeps the playback clock: when the first audio went out, how much
    audio the TTS produced, and when the interruption (Twilio `clear`) came, so the recorder can
    tell how much of the reply the caller heard, and keeps the reply's text (see `CutReply`).
    Each tool result is reported once to `on_tool_result` (for metrics). Latency is Pipecat's
    `UserBotLatencyObserver` (see `latency.py`).
    """

    def __init__(self, *, on_tool_result: Callable[[str, object], None] | None = None) -> None:
        super().__init__()
        self._on_tool_result = on_tool_result
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
        if isinstance(frame, TTSAudioRawFrame):
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

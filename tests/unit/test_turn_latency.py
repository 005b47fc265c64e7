"""A reply's latency as the call record stores it, from Pipecat's latency observer (fake clock)."""

import asyncio

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    EagerEndOfTurnCancelFrame,
    Frame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pytest import approx

from zylin.call.record.latency import TurnLatency, latency_observer


class Turn:
    """Pushes frames through a latency observer at moments set by a fake clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.measured: list[TurnLatency] = []
        self.stt = FrameProcessor(name="stt")
        self.llm = FrameProcessor(name="llm")
        self.tts = FrameProcessor(name="tts")
        self.out = FrameProcessor(name="out")
        self.observer = latency_observer(
            stt_name="stt",
            llm_name="llm",
            tts_name="tts",
            on_latency=self.measured.append,
            time_source=lambda: self.now,
        )

    async def push(self, at: float, source: FrameProcessor, frame: Frame) -> None:
        self.now = at
        await self.observer.on_push_frame(
            FramePushed(
                source=source,
                destination=self.out,
                frame=frame,
                direction=FrameDirection.DOWNSTREAM,
                timestamp=int(at * 1e9),
            )
        )
        await asyncio.sleep(0)  # the observer reports from a task of its own

    async def reply(self, start: float) -> None:
        """Caller stops at `start`, VAD says so 0.2 s later; STT, LLM, TTS, first audio."""
        await self.push(start - 1, self.stt, VADUserStartedSpeakingFrame())
        vad = VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=start + 0.2)
        await self.push(start + 0.2, self.stt, vad)
        await self.push(start + 0.35, self.stt, TranscriptionFrame("hi", "caller", "t"))
        await self.push(start + 0.36, self.llm, LLMFullResponseStartFrame())
        ttfb = MetricsFrame(data=[TTFBMetricsData(processor="llm", value=0.3)])
        await self.push(start + 0.66, self.llm, ttfb)
        await self.push(start + 0.67, self.llm, LLMTextFrame("Hello"))
        await self.push(start + 0.87, self.tts, TTSAudioRawFrame(b"\0" * 320, 8000, 1))
        ttfb = MetricsFrame(data=[TTFBMetricsData(processor="tts", value=0.2)])
        await self.push(start + 0.87, self.tts, ttfb)
        await self.push(start + 0.9, self.out, BotStartedSpeakingFrame())


async def test_each_stage_is_measured_from_the_callers_last_voiced_audio() -> None:
    turn = Turn()
    await turn.reply(100.0)
    assert len(turn.measured) == 1
    latency = turn.measured[0]
    assert latency.voice_to_voice_ms == approx(900, abs=1)
    assert latency.stt_ms == approx(350, abs=1)
    assert latency.llm_ttfb_ms == approx(300, abs=1)
    assert latency.tts_ttfb_ms == approx(200, abs=1)


async def test_the_greeting_is_not_a_reply_and_each_turn_is_measured_once() -> None:
    turn = Turn()
    await turn.push(99.0, turn.out, BotStartedSpeakingFrame())  # the greeting
    assert turn.measured == []
    await turn.reply(100.0)
    await turn.push(101.5, turn.out, BotStartedSpeakingFrame())  # more of the same reply
    await turn.reply(110.0)
    assert [round(m.voice_to_voice_ms or 0) for m in turn.measured] == [900, 900]


async def test_a_transcript_that_came_before_the_vad_stop_still_times_the_stt() -> None:
    """Deepgram's own end-of-speech final often beats the VAD's stop; Pipecat's breakdown has
    no transcription stage then, and the record still needs one."""
    turn = Turn()
    start = 100.0
    await turn.push(start - 1, turn.stt, VADUserStartedSpeakingFrame())
    final = TranscriptionFrame("it's Priya", "caller", "t")
    await turn.push(start + 0.15, turn.stt, final)
    await turn.push(start + 0.16, turn.llm, final)  # the same frame, one processor on
    vad = VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=start + 0.2)
    await turn.push(start + 0.2, turn.stt, vad)
    await turn.push(start + 0.21, turn.llm, LLMFullResponseStartFrame())
    await turn.push(start + 0.6, turn.llm, LLMTextFrame("Thanks, Priya."))
    await turn.push(start + 0.8, turn.tts, TTSAudioRawFrame(b"\0" * 320, 8000, 1))
    await turn.push(start + 0.82, turn.out, BotStartedSpeakingFrame())
    assert len(turn.measured) == 1
    assert turn.measured[0].stt_ms == approx(150, abs=1)
    assert turn.measured[0].voice_to_voice_ms == approx(820, abs=1)


async def test_a_withdrawn_speculative_replys_llm_time_is_not_the_turns() -> None:
    """A speculative request withdrawn at the turn's end (the words had changed) reports a TTFB
    cut short by the withdrawal; the reply the caller heard came from the request after it."""
    turn = Turn()
    start = 100.0
    await turn.push(start - 1, turn.stt, VADUserStartedSpeakingFrame())
    await turn.push(start + 0.1, turn.stt, TranscriptionFrame("Tomorrow", "caller", "t"))
    vad = VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=start + 0.2)
    await turn.push(start + 0.2, turn.stt, vad)
    await turn.push(start + 0.3, turn.stt, TranscriptionFrame("at ten", "caller", "t"))
    cut_short = MetricsFrame(data=[TTFBMetricsData(processor="llm", value=0.2)])
    await turn.push(start + 0.3, turn.llm, cut_short)  # asked at 0.1, withdrawn at 0.3
    await turn.push(start + 0.3, turn.stt, EagerEndOfTurnCancelFrame())
    await turn.push(start + 0.31, turn.llm, LLMFullResponseStartFrame())
    ttfb = MetricsFrame(data=[TTFBMetricsData(processor="llm", value=0.35)])
    await turn.push(start + 0.66, turn.llm, ttfb)
    await turn.push(start + 0.67, turn.llm, LLMTextFrame("Ten works."))
    await turn.push(start + 0.87, turn.tts, TTSAudioRawFrame(b"\0" * 320, 8000, 1))
    await turn.push(start + 0.9, turn.out, BotStartedSpeakingFrame())
    assert len(turn.measured) == 1
    assert turn.measured[0].llm_ttfb_ms == approx(350, abs=1)

"""Runs labelled utterances through a real Pipecat user aggregator in real time; times turn ends.

One "copy" is one call: a pipeline holding the user aggregator configured as in bot.py
(Silero VAD with the strategy's stop time, the strategy's stop list), fed 20 ms frames of
pipeline-input audio on the wall clock, as the Twilio transport would. No STT runs; finalized
`TranscriptionFrame`s stand in for Deepgram's, in one of two modes: "speech" queues one per
segment `stt_final_secs` after the segment's last word; "finalize" answers each VAD stop (when
Pipecat sends Deepgram `Finalize`) `stt_final_secs` later with the words heard so far. Several
copies run side by side in one event loop to measure a busy process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from devtools.bench.turn_end_audio import SpokenUtterance
from devtools.bench.turn_end_strategies import StrategySpec

FRAME_SECS = 0.02
LEAD_SECS = 0.5  # silence before each utterance
SETTLE_SECS = 0.2  # silence kept after a turn end before the next utterance
STT_FINAL_SECS = 0.15  # Deepgram's final after the segment's last word (issue 11)


@dataclass(frozen=True)
class ItemResult:
    """One utterance in one copy: the wait after its last word and the turns cut before it."""

    id: str
    kind: str
    copy: int
    wait_s: float | None  # last word end -> turn end; None when no turn end within the tail
    cutoffs: int  # turn ends before the last word ended (a pause was taken for the end)


@dataclass(frozen=True)
class StrategyResult:
    """Every item of every copy for one strategy."""

    strategy: str
    copies: int
    items: list[ItemResult]


@dataclass(frozen=True)
class HarnessOptions:
    """Timing knobs of a run."""

    max_tail_secs: float = 6.0  # silence fed after the last word while waiting for a turn end
    stt_final_secs: float = STT_FINAL_SECS
    stt_mode: str = "speech"  # "speech" or "finalize" (see the module docstring)
    copy_stagger_secs: float = 0.25


def _transcript(text: str) -> TranscriptionFrame:
    stamp = datetime.now(UTC).isoformat()
    return TranscriptionFrame(text=text, user_id="caller", timestamp=stamp, finalized=True)


class _FinalizeSTT(FrameProcessor):
    """Deepgram as Pipecat drives it: `Finalize` on each VAD stop, a finalized reply `rtt` later."""

    def __init__(self, rtt: float) -> None:
        super().__init__()
        self._rtt = rtt
        self._heard: list[str] = []

    def heard(self, text: str) -> None:
        """The caller finished saying `text`: the next finalize will transcribe it."""
        self._heard.append(text)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer the aggregator's upstream VAD stop; pass everything through."""
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame) and direction is FrameDirection.UPSTREAM:
            self.create_task(self._finalize(), "finalize")
        await self.push_frame(frame, direction)

    async def _finalize(self) -> None:
        await asyncio.sleep(self._rtt)
        if self._heard:
            text, self._heard = " ".join(self._heard), []
            await self.push_frame(_transcript(text))


class _Call:
    """One pipeline fed like one caller; turn ends recorded on the wall clock."""

    def __init__(self, spec: StrategySpec, rate: int, options: HarnessOptions) -> None:
        self.rate = rate
        self.stt = _FinalizeSTT(options.stt_final_secs) if options.stt_mode == "finalize" else None
        self.stops: list[float] = []
        pair = LLMContextAggregatorPair(
            LLMContext(),
            user_params=LLMUserAggregatorParams(
                vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=spec.vad_stop_secs)),
                user_turn_strategies=spec.build(),
            ),
        )
        user = pair.user()

        @user.event_handler("on_user_turn_stopped")
        async def _stopped(_aggregator: object, _strategy: object, _message: object) -> None:
            self.stops.append(time.monotonic())

        self.worker = PipelineWorker(
            Pipeline([self.stt, user] if self.stt else [user]),
            params=PipelineParams(audio_in_sample_rate=rate, audio_out_sample_rate=8000),
            idle_timeout_secs=None,
            enable_rtvi=False,
        )
        self._started = asyncio.Event()

        @self.worker.event_handler("on_pipeline_started")
        async def _on_started(_worker: object, _frame: object) -> None:
            self._started.set()

        self._silence = bytes(int(rate * FRAME_SECS) * 2)

    async def start(self) -> asyncio.Task[None]:
        """Run the pipeline in the background; return once it has started."""
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self.worker)
        task = asyncio.create_task(runner.run())
        await asyncio.wait_for(self._started.wait(), timeout=30)
        return task

    def audio(self, chunk: bytes | None) -> Frame:
        """A 20 ms input frame (silence when `chunk` is None)."""
        return InputAudioRawFrame(
            audio=chunk or self._silence, sample_rate=self.rate, num_channels=1
        )


async def _feed(
    call: _Call, spoken: list[SpokenUtterance], copy: int, options: HarnessOptions
) -> list[ItemResult]:
    """Speak every utterance into `call` on the wall clock; return what each one measured."""
    t0 = time.monotonic()
    slot = 0  # 20 ms slots since t0; slot k is queued at t0 + (k + 1) * FRAME_SECS

    async def send(frame_audio: bytes | None, pending: list[tuple[float, str]]) -> float:
        nonlocal slot
        now_audio = (slot + 1) * FRAME_SECS
        await asyncio.sleep(max(0.0, t0 + now_audio - time.monotonic()))
        while pending and pending[0][0] <= now_audio:
            _, text = pending.pop(0)
            if call.stt:
                call.stt.heard(text)
            else:
                await call.worker.queue_frame(_transcript(text))
        await call.worker.queue_frame(call.audio(frame_audio))
        slot += 1
        return now_audio

    results: list[ItemResult] = []
    step = int(call.rate * FRAME_SECS) * 2
    for item in spoken:
        for _ in range(int(LEAD_SECS / FRAME_SECS)):
            await send(None, [])
        base = slot * FRAME_SECS
        last_word = base + item.last_word_end
        delay = 0.0 if call.stt else options.stt_final_secs  # "finalize": heard at the end
        pending = [
            (base + end + delay, text)
            for (_, end), text in zip(item.segment_spans, item.utterance.segments, strict=True)
        ]
        stops_before = len(call.stops)
        for offset in range(0, len(item.pcm), step):
            chunk = item.pcm[offset : offset + step].ljust(step, b"\0")
            await send(chunk, pending)
        wait: float | None = None
        while True:
            now_audio = await send(None, pending)
            ends = [s - t0 for s in call.stops[stops_before:]]
            after = [e for e in ends if e >= last_word]
            if after and wait is None:
                wait = after[0] - last_word
            if wait is not None and now_audio >= last_word + wait + SETTLE_SECS:
                break
            if now_audio >= last_word + options.max_tail_secs:
                break
        ends = [s - t0 for s in call.stops[stops_before:]]
        # Stops before the first segment's end are the previous item's, not this one's.
        first_end = base + item.segment_spans[0][1]
        cutoffs = sum(1 for e in ends if first_end <= e < last_word)
        results.append(ItemResult(item.utterance.id, item.utterance.kind, copy, wait, cutoffs))
    return results


async def _run_copy(
    spec: StrategySpec, spoken: list[SpokenUtterance], copy: int, options: HarnessOptions
) -> list[ItemResult]:
    """One call: start its pipeline after its stagger, feed its (rotated) utterances, end it."""
    await asyncio.sleep(copy * options.copy_stagger_secs)
    rate = spoken[0].rate
    call = _Call(spec, rate, options)
    task = await call.start()
    try:
        shift = copy % len(spoken)  # copies speak different items at the same moment
        return await _feed(call, spoken[shift:] + spoken[:shift], copy, options)
    finally:
        await call.worker.queue_frame(EndFrame())
        await asyncio.wait_for(task, timeout=30)


async def run_strategy(
    spec: StrategySpec,
    spoken: list[SpokenUtterance],
    copies: int = 1,
    options: HarnessOptions | None = None,
) -> StrategyResult:
    """Run `copies` simultaneous calls of `spec`, each speaking every utterance once."""
    opts = options or HarnessOptions()
    per_copy = await asyncio.gather(*(_run_copy(spec, spoken, c, opts) for c in range(copies)))
    return StrategyResult(spec.name, copies, [r for items in per_copy for r in items])

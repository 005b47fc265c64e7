"""A call with typed lines in place of audio: the call's context, LLM service and tools.

The pipeline is bot.py's without the audio parts: user aggregator -> LLM -> assistant
aggregator, on an `LLMContext` holding the same tools, with the `CallContext` as the worker's
`app_resources`. Each caller line goes in as a user message; the line counts as answered once
every inference it started (and every tool call, and every inference a tool result started)
has finished, and a marker frame sent after that has come out at the far end with nothing new
begun meanwhile. What Zylin says is collected: the LLM's text per response, and the lines the
tools speak themselves (a transfer, the goodbye). A probe that waits for the caller to have
heard a line is answered at once, as a caller who reads has heard it.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import (
    DataFrame,
    EndWorkerFrame,
    ErrorFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMTextFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameCallback, FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from tools import ALL_TOOLS
from zylin.call.context import CallContext
from zylin.call.opening import tools_for
from zylin.call.playout import HeardProbeFrame


@dataclass(frozen=True)
class ToolUse:
    """One tool call the LLM made, with what the tool answered."""

    name: str
    arguments: dict[str, Any]
    result: Any = None


@dataclass
class Transcript:
    """What happened on a text call."""

    # ("caller" | "zylin" | "tool", text) in the order said or done.
    lines: list[tuple[str, str]] = field(default_factory=list)
    tools: list[ToolUse] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Why the call ended before the caller ran out of lines (None: it did not).
    ended: str | None = None

    @property
    def said(self) -> list[str]:
        """Zylin's lines."""
        return [text for who, text in self.lines if who == "zylin"]


@dataclass
class _Ledger:
    """Work begun and finished; a change while a marker travels means "not settled yet"."""

    requested: int = 0
    answered: int = 0
    calls: int = 0
    results: int = 0
    generation: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, **counts: int) -> None:
        for name, n in counts.items():
            setattr(self, name, getattr(self, name) + n)
        self.generation += 1
        self.changed.set()

    @property
    def outstanding(self) -> int:
        return (self.requested - self.answered) + (self.calls - self.results)


@dataclass
class _Marker(DataFrame):
    """Sent in at the top after the work seemed done; its arrival at the end confirms it."""

    token: int = 0


class _LlmInlet(FrameProcessor):
    """Before the LLM: counts the inferences the caller's lines ask for; notes LLM errors."""

    def __init__(self, ledger: _Ledger, transcript: Transcript) -> None:
        super().__init__(name="EvalLlmInlet")
        self._ledger, self._transcript = ledger, transcript

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: FrameCallback | None = None,
    ) -> None:
        """Count at arrival, so no work is ever in a queue without being counted."""
        if isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            self._ledger.note(requested=1)
        await super().queue_frame(frame, direction, callback)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Pass everything on; keep what an error said."""
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame):
            self._transcript.errors.append(str(frame.error))
        await self.push_frame(frame, direction)


class _LlmOutlet(FrameProcessor):
    """After the LLM: counts answers and tool calls, collects what Zylin says and does."""

    def __init__(self, ledger: _Ledger, transcript: Transcript, ctx: CallContext) -> None:
        super().__init__(name="EvalLlmOutlet")
        self._ledger, self._transcript, self._ctx = ledger, transcript, ctx
        self._reply: list[str] = []
        self._uses: dict[str, int] = {}

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: FrameCallback | None = None,
    ) -> None:
        """Count at arrival (see `_LlmInlet.queue_frame`)."""
        down = direction == FrameDirection.DOWNSTREAM
        if isinstance(frame, LLMContextFrame) and not down:
            self._ledger.note(requested=1)  # a tool result asks for the next inference
        elif down and isinstance(frame, LLMFullResponseEndFrame):
            self._ledger.note(answered=1)
        elif down and isinstance(frame, FunctionCallsStartedFrame):
            self._ledger.note(calls=len(frame.function_calls))
        elif down and _ends_a_call(frame):
            self._ledger.note(results=1)
        await super().queue_frame(frame, direction, callback)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Collect text and tool use; answer heard-probes at once."""
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, HeardProbeFrame):
                await self._ctx.heard.heard(frame.probe_id)
                return
            self._collect(frame)
        await self.push_frame(frame, direction)

    def _collect(self, frame: Frame) -> None:
        if isinstance(frame, LLMFullResponseStartFrame):
            self._reply = []
        elif isinstance(frame, LLMTextFrame):
            self._reply.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self._say("".join(self._reply))
            self._reply = []
        elif isinstance(frame, TTSSpeakFrame):
            self._say(frame.text)
        elif isinstance(frame, FunctionCallsStartedFrame):
            for call in frame.function_calls:
                self._uses[call.tool_call_id] = len(self._transcript.tools)
                self._transcript.tools.append(ToolUse(call.function_name, dict(call.arguments)))
                self._transcript.lines.append(("tool", f"{call.function_name}({call.arguments})"))
        elif isinstance(frame, FunctionCallResultFrame) and _is_final(frame):
            index = self._uses.get(frame.tool_call_id)
            if index is not None:
                use = self._transcript.tools[index]
                self._transcript.tools[index] = ToolUse(use.name, use.arguments, frame.result)
                self._transcript.lines.append(("tool", f"{use.name} -> {frame.result}"))

    def _say(self, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self._transcript.lines.append(("zylin", text))


class _Tail(FrameProcessor):
    """The far end: resolves the marker that confirms the work is done."""

    def __init__(self) -> None:
        super().__init__(name="EvalTail")
        self.arrived: dict[int, asyncio.Future[None]] = {}

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Take markers out; pass everything else."""
        await super().process_frame(frame, direction)
        if isinstance(frame, _Marker):
            waiter = self.arrived.pop(frame.token, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        await self.push_frame(frame, direction)


def _ends_a_call(frame: Frame) -> bool:
    """A tool call's final result, or its cancellation."""
    if isinstance(frame, FunctionCallCancelFrame):
        return True
    return isinstance(frame, FunctionCallResultFrame) and _is_final(frame)


def _is_final(frame: FunctionCallResultFrame) -> bool:
    return frame.properties is None or frame.properties.is_final is not False


class TextCall:
    """One call driven line by line; use `async with`, then `say` each caller line."""

    def __init__(
        self, ctx: CallContext, llm: LLMService, *, greeting: str, turn_timeout_secs: float
    ) -> None:
        self.ctx = ctx
        self.transcript = Transcript()
        self._greeting = greeting
        self._timeout = turn_timeout_secs
        self._ledger = _Ledger()
        self._tail = _Tail()
        self._tokens = itertools.count(1)
        aggregators = LLMContextAggregatorPair(
            LLMContext(tools=tools_for(ALL_TOOLS, ctx.profile, ctx.now())),  # as the call's
            # Lines arrive whole, so no turn detection: not the default smart-turn model either.
            user_params=LLMUserAggregatorParams(
                user_turn_strategies=UserTurnStrategies(
                    stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0)]
                )
            ),
        )
        pipeline = Pipeline(
            [
                aggregators.user(),
                _LlmInlet(self._ledger, self.transcript),
                llm,
                _LlmOutlet(self._ledger, self.transcript, ctx),
                aggregators.assistant(),
                self._tail,
            ]
        )
        self._worker = PipelineWorker(
            pipeline,
            app_resources=ctx,
            params=PipelineParams(),
            idle_timeout_secs=None,
            enable_rtvi=False,
        )
        self._running: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TextCall:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self._worker)
        self._running = asyncio.create_task(runner.run(), name="eval-text-call")
        self.transcript.lines.append(("zylin", self._greeting))
        await self._worker.queue_frame(
            LLMMessagesAppendFrame(
                messages=[{"role": "assistant", "content": self._greeting}], run_llm=False
            )
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def say(self, line: str) -> bool:
        """The caller says `line`; returns once Zylin is done answering (False: call over)."""
        if self._over():
            return False
        self.transcript.lines.append(("caller", line))
        await self._worker.queue_frame(
            LLMMessagesAppendFrame(messages=[{"role": "user", "content": line}], run_llm=True)
        )
        try:
            await asyncio.wait_for(self._settle(), self._timeout)
        except TimeoutError:
            self.transcript.errors.append(f"no answer settled within {self._timeout:.0f} s")
            self.transcript.ended = "timed out"
            return False
        self._over()
        return True

    def _over(self) -> bool:
        """Whether the call has ended (Zylin said goodbye, or handed it to a person)."""
        if self.transcript.ended is None:
            reason = self.ctx.end.reason
            if reason is not None and reason.hands_off:
                self.transcript.ended = f"call handed over ({reason})"
            elif self.ctx.ending or (self._running is not None and self._running.done()):
                self.transcript.ended = f"call ended ({reason or 'pipeline stopped'})"
        return self.transcript.ended is not None

    async def _settle(self) -> None:
        """Wait until nothing is in flight and a marker sent after that made it through."""
        assert self._running is not None
        while True:
            if self._running.done():
                return
            if self._ledger.outstanding > 0:
                self._ledger.changed.clear()
                await _first(self._ledger.changed.wait(), self._running)
                continue
            seen = self._ledger.generation
            token = next(self._tokens)
            arrived = asyncio.get_running_loop().create_future()
            self._tail.arrived[token] = arrived
            await self._worker.queue_frame(_Marker(token=token))
            await _first(arrived, self._running)
            if self._ledger.generation == seen and self._ledger.outstanding == 0:
                return

    async def close(self) -> None:
        """End the pipeline if still running, then finish the call's background work."""
        if self._running is None:
            return
        if not self._running.done():
            await self._worker.queue_frame(EndWorkerFrame(reason="eval done"))
            await asyncio.wait([self._running], timeout=10)  # neither raises nor cancels
            if not self._running.done():
                await self._worker.cancel(reason="eval done")
        try:
            await self._running
        except Exception as exc:
            self.transcript.errors.append(f"the pipeline failed: {exc}")
        await self.ctx.tasks.drain(timeout_secs=10)
        self._running = None


async def _first(*waitables: Any) -> None:
    """Wait until the first of these is done (the others keep going)."""
    tasks = [asyncio.ensure_future(w) for w in waitables]
    _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        if task not in waitables:  # never cancel what the caller owns
            task.cancel()

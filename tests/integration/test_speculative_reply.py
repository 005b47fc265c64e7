"""The turn's end around Deepgram's end-of-speech final: the reply may start on it, before the
VAD's stop, held until the turn ends; a final the caller spoke on after is not trusted. Pipecat's
aggregator and LLM service, the OpenAI fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pipecat.frames.frames import (
    Frame,
    InterimTranscriptionFrame,
    LLMTextFrame,
    STTMetadataFrame,
    SystemFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from devtools.fakes.openai_script import Text, ToolCall, last_tool_result, last_user_text
from devtools.fakes.openai_server import OpenAIFake
from zylin.call.services import SharedClientOpenAILLMService
from zylin.call.turn_stop import (
    EndpointedSpeechTimeoutStopStrategy,
    SpeculativeSpeechTimeoutStopStrategy,
)

pytestmark = pytest.mark.timeout(30)

KEY = "test-openai-key"
LLM_SECS = 0.4  # the LLM's first token: longer than the VAD's wait, as with a real model


@pytest_asyncio.fixture
async def openai() -> AsyncIterator[OpenAIFake]:
    async with OpenAIFake(api_key=KEY, chat_delay=LLM_SECS) as fake:
        yield fake


class RequestsAtVadStop(FrameProcessor):
    """Notes how many chat requests the LLM had made when the VAD's stop came by, and stamps
    the stop with that moment, as Pipecat's VAD does when it decides."""

    def __init__(self, openai: OpenAIFake) -> None:
        super().__init__()
        self._openai = openai
        self.requests: int | None = None
        self.stopped = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            frame.timestamp = time.time()
            self.requests = len(self._openai.chat_requests)
            self.stopped = True
        await self.push_frame(frame, direction)


async def _call(
    openai: OpenAIFake,
    frames: list[Any],
    tools: dict[str, Any] | None = None,
    strategy: type[EndpointedSpeechTimeoutStopStrategy] = SpeculativeSpeechTimeoutStopStrategy,
    before_llm: list[FrameProcessor] | None = None,
) -> tuple[list[Frame], int | None, LLMContext]:
    context = LLMContext(messages=[{"role": "system", "content": "You are a receptionist."}])
    pair = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=UserTurnStrategies(stop=[strategy(user_speech_timeout=0.0)])
        ),
    )
    probe = RequestsAtVadStop(openai)
    llm = SharedClientOpenAILLMService(  # the call's LLM service
        http=None,
        api_key=KEY,
        base_url=openai.base_url + "/v1",
        settings=OpenAILLMService.Settings(model="gpt-4.1-mini"),
    )
    for name, handler in (tools or {}).items():
        llm.register_function(name, lambda params, h=handler: h(params, probe))
    # The assistant aggregator (it runs the inference after a tool's result) keeps the reply's
    # text frames: only a call with tools has it.
    after = [pair.assistant()] if tools else []
    pipeline = Pipeline([probe, pair.user(), *(before_llm or []), llm, *after])
    down, _ = await run_test(pipeline, frames_to_send=frames)
    return down, probe.requests, context


def _final(text: str) -> TranscriptionFrame:
    frame = TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z")
    frame.finalized = True  # as Deepgram's `speech_final` makes it (call/deepgram_stt.py)
    return frame


def _answers(openai: OpenAIFake, ending: str, reply: str) -> None:
    """The fake LLM says `reply` to a caller message ending with `ending`, and something else
    to any other: a reply to the wrong words shows in what was spoken."""
    openai.set_brain(
        lambda request: Text(
            reply if last_user_text(request).endswith(ending) else "An answer to other words."
        )
    )


def _spoken(down: list[Frame]) -> str:
    return "".join(f.text for f in down if isinstance(f, LLMTextFrame))


async def test_the_reply_starts_before_the_vad_stop_and_is_heard_only_after_it(
    openai: OpenAIFake,
) -> None:
    openai.queue_chat(Text("Priya, thanks. What day suits you?"))
    down, requests_at_stop, context = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            SleepFrame(0.1),
            _final("It's Priya."),
            SleepFrame(0.15),  # the VAD's quiet, still counting
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(LLM_SECS + 0.6),
        ],
    )

    assert requests_at_stop == 1  # asked before the turn had ended
    assert len(openai.chat_requests) == 1  # and not again after it
    assert openai.chat_requests[0]["messages"][-1] == {"role": "user", "content": "It's Priya."}
    assert _spoken(down) == "Priya, thanks. What day suits you?"
    stopped = next(i for i, f in enumerate(down) if isinstance(f, UserStoppedSpeakingFrame))
    first_text = next(i for i, f in enumerate(down) if isinstance(f, LLMTextFrame))
    assert stopped < first_text  # held until the turn ended
    assert [m["content"] for m in context.messages if m["role"] == "user"] == ["It's Priya."]


async def test_more_speech_withdraws_the_reply_and_the_whole_turn_is_answered(
    openai: OpenAIFake,
) -> None:
    _answers(openai, "morning", "Tomorrow at ten works.")
    down, _, context = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            _final("Tomorrow"),  # Deepgram heard a pause
            SleepFrame(0.1),
            InterimTranscriptionFrame("at ten in the", "caller", "2026-12-02T10:00:01Z"),
            SleepFrame(0.1),
            _final("at ten in the morning"),
            SleepFrame(0.1),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(2 * LLM_SECS + 0.8),
        ],
    )

    assert _spoken(down) == "Tomorrow at ten works."
    asked = [r["messages"][-1]["content"] for r in openai.chat_requests]
    assert asked[0] == "Tomorrow" and asked[-1] == "Tomorrow at ten in the morning"
    assert [m["content"] for m in context.messages if m["role"] == "user"] == [
        "Tomorrow at ten in the morning"
    ]


async def test_a_final_after_the_vad_stop_is_answered_as_before(openai: OpenAIFake) -> None:
    openai.queue_chat(Text("Yes, we are open on Saturdays."))
    down, requests_at_stop, _ = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            SleepFrame(0.1),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(0.05),
            _final("Are you open on Saturday?"),
            SleepFrame(LLM_SECS + 0.6),
        ],
    )

    assert requests_at_stop == 0
    assert len(openai.chat_requests) == 1
    assert _spoken(down) == "Yes, we are open on Saturdays."


async def _booking(
    openai: OpenAIFake,
    *,
    llm_secs: float,
    vad_stop_after: float,
    before_llm: list[FrameProcessor] | None = None,
) -> tuple[list[bool], int | None, LLMContext]:
    """A turn whose reply books (a tool), then says so: for each booking made, whether the
    turn had ended by then; how many requests the LLM had at the VAD's stop; the context."""
    openai.set_chat_delay(llm_secs)
    openai.set_brain(
        lambda request: (
            Text("You're booked for ten.")
            if last_tool_result(request) is not None
            else ToolCall("book_appointment", {"time": "10:00"})
        )
    )
    booked_after_the_turn: list[bool] = []

    async def book(params: FunctionCallParams, probe: RequestsAtVadStop) -> None:
        booked_after_the_turn.append(probe.stopped)
        await params.result_callback({"booked": True})

    _, requests_at_stop, context = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            _final("Book me in for ten, please."),
            SleepFrame(vad_stop_after),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(3 * LLM_SECS + 1.0),
        ],
        tools={"book_appointment": book},
        before_llm=before_llm,
    )
    return booked_after_the_turn, requests_at_stop, context


@pytest.mark.parametrize("llm_secs", [LLM_SECS, 0.05])  # the tool asked for after, or before
async def test_a_tool_the_speculative_reply_wants_runs_once_and_only_after_the_turn_ends(
    openai: OpenAIFake, llm_secs: float
) -> None:
    """A booking must never be made on words the caller may still be adding to; a reply that
    wants one before the turn has ended is withdrawn and asked for again once it has."""
    booked, requests_at_stop, context = await _booking(
        openai, llm_secs=llm_secs, vad_stop_after=0.3
    )

    assert requests_at_stop == 1  # the speculation asked
    assert booked == [True]
    assert context.messages[-1] == {"role": "assistant", "content": "You're booked for ten."}


async def test_each_turn_speculates_on_its_own_words_only(openai: OpenAIFake) -> None:
    openai.set_brain(lambda request: Text(f"You said: {last_user_text(request)}"))
    turn = [SleepFrame(0.15), VADUserStoppedSpeakingFrame(stop_secs=0.2), SleepFrame(1.0)]
    down, _, context = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            _final("It's Priya."),
            *turn,
            VADUserStartedSpeakingFrame(),
            _final("Tomorrow at ten."),
            *turn,
        ],
    )

    asked = [r["messages"][-1]["content"] for r in openai.chat_requests]
    assert asked == ["It's Priya.", "Tomorrow at ten."]
    assert _spoken(down) == "You said: It's Priya.You said: Tomorrow at ten."
    assert [m["content"] for m in context.messages if m["role"] == "user"] == [
        "It's Priya.",
        "Tomorrow at ten.",
    ]


@pytest.mark.parametrize(
    "strategy", [EndpointedSpeechTimeoutStopStrategy, SpeculativeSpeechTimeoutStopStrategy]
)
async def test_a_final_the_caller_spoke_on_after_does_not_end_the_turn_at_the_vad_stop(
    openai: OpenAIFake, strategy: type[EndpointedSpeechTimeoutStopStrategy]
) -> None:
    """Deepgram's final at a short pause, then a few words with no interim result before the
    VAD's stop: the turn waits (Pipecat's STT safety net) for the final that has them."""
    openai.set_brain(lambda request: Text(f"You said: {last_user_text(request)}"))
    down, _, context = await _call(
        openai,
        [
            STTMetadataFrame(service_name="stt", ttfs_p99_latency=0.35),  # as Deepgram's says
            VADUserStartedSpeakingFrame(),
            _final("I'd like Tuesday"),
            SleepFrame(0.45),  # "at ten", then the VAD's 0.2 s of quiet
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(0.05),
            _final("at ten"),
            SleepFrame(LLM_SECS + 0.8),
        ],
        strategy=strategy,
    )

    assert [m["content"] for m in context.messages if m["role"] == "user"] == [
        "I'd like Tuesday at ten"
    ]
    assert _spoken(down) == "You said: I'd like Tuesday at ten"


class SlowTurnEnd(FrameProcessor):
    """Lets the turn's end reach the LLM late (a busy event loop), so the speculative reply's
    tool call comes after the strategy confirmed the turn but before the LLM knows."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserStoppedSpeakingFrame) and direction == FrameDirection.DOWNSTREAM:
            self.create_task(self._later(frame), "slow-turn-end")
            return
        await self.push_frame(frame, direction)

    async def _later(self, frame: Frame) -> None:
        # Past the speculative tool call (~0.3 s after the final), before the one asked again.
        await asyncio.sleep(0.25)
        await self.push_frame(frame)


async def test_a_confirmed_reply_the_llm_drops_for_a_tool_is_asked_for_again(
    openai: OpenAIFake,
) -> None:
    booked, _, context = await _booking(
        openai, llm_secs=0.3, vad_stop_after=0.15, before_llm=[SlowTurnEnd()]
    )

    assert booked == [True]
    assert context.messages[-1] == {"role": "assistant", "content": "You're booked for ten."}


class SlowRequests(FrameProcessor):
    """Holds each non-system frame 0.2 s, in order, while system frames pass at once: a busy
    loop between the aggregator and the LLM, where a withdrawal overtakes its request."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[tuple[Frame, FrameDirection]] = asyncio.Queue()
        self._worker: asyncio.Task | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, SystemFrame) or direction == FrameDirection.UPSTREAM:
            await self.push_frame(frame, direction)
            return
        if self._worker is None:
            self._worker = self.create_task(self._drain(), "slow-requests")
        await self._queue.put((frame, direction))

    async def _drain(self) -> None:
        while True:
            frame, direction = await self._queue.get()
            await asyncio.sleep(0.2)
            await self.push_frame(frame, direction)


async def test_a_withdrawal_that_overtakes_its_request_still_withdraws_it(
    openai: OpenAIFake,
) -> None:
    openai.set_chat_delay(0.05)
    _answers(openai, "morning", "Tomorrow at ten works.")
    down, _, _ = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            _final("Tomorrow"),
            SleepFrame(0.03),
            InterimTranscriptionFrame("at ten in the", "caller", "2026-12-02T10:00:01Z"),
            SleepFrame(0.03),
            _final("at ten in the morning"),
            SleepFrame(0.15),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(1.5),
        ],
        before_llm=[SlowRequests()],
    )

    assert _spoken(down) == "Tomorrow at ten works."


async def test_a_confirmation_the_turn_does_not_take_withdraws_the_reply(
    openai: OpenAIFake,
) -> None:
    """Pipecat's controller keeps the turn open while it hears the caller (here a
    `UserStartedSpeakingFrame` just after the VAD's stop); the turn ends later without the
    speculative reply, which must not be released then as well."""
    _answers(openai, "Priya.", "Priya, thanks. What day suits you?")
    down, _, _ = await _call(
        openai,
        [
            VADUserStartedSpeakingFrame(),
            _final("It's Priya."),
            SleepFrame(0.15),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            UserStartedSpeakingFrame(),
            SleepFrame(LLM_SECS + 0.2),
            VADUserStartedSpeakingFrame(),
            SleepFrame(0.1),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(LLM_SECS + 0.6),
        ],
    )

    assert len(openai.chat_requests) == 2  # the speculation, and the turn asked again
    assert _spoken(down) == "Priya, thanks. What day suits you?"

"""Our FrameProcessors, each run in a real Pipecat pipeline with `run_test`."""

import asyncio

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    CancelWorkerFrame,
    EndWorkerFrame,
    FunctionCallsStartedFrame,
    InputDTMFFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputTransportMessageFrame,
    TextFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import SleepFrame, run_test

from processors.call_guard import CallGuard, GuardLines
from processors.frames import PlaybackFinishedFrame
from processors.keypad import Keypad
from processors.playback_marks import PlaybackMarks
from zylin.telephony.media_stream import TwilioMarkFrame, TwilioStopFrame

LINES = GuardLines(
    still_there="Are you still there?", silence_goodbye="Bye now.", max_duration_goodbye="Time."
)


def spoken(frames) -> list[str]:
    return [f.text for f in frames if isinstance(f, TTSSpeakFrame)]


async def test_marks_follow_each_utterance_and_newest_echo_reports_playback() -> None:
    down, up = await run_test(
        PlaybackMarks("MZ1"),
        frames_to_send=[
            TextFrame("hi"),
            TTSStoppedFrame(),
            TTSStoppedFrame(),
            TwilioMarkFrame(mark_name="utterance-1"),  # older mark: still playing
            SleepFrame(),
            TwilioMarkFrame(mark_name="utterance-2"),
        ],
    )
    marks = [f.message for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert marks == [
        {"event": "mark", "streamSid": "MZ1", "mark": {"name": "utterance-1"}},
        {"event": "mark", "streamSid": "MZ1", "mark": {"name": "utterance-2"}},
    ]
    assert not any(isinstance(f, TwilioMarkFrame) for f in down)
    finished = [f for f in up if isinstance(f, PlaybackFinishedFrame)]
    assert len(finished) == 1 and not finished[0].interrupted


def guard(after_speech=None, reasons=None, *, silence=0.15, max_secs=60.0) -> CallGuard:
    return CallGuard(
        lines=LINES,
        max_call_secs=max_secs,
        silence_secs=silence,
        after_speech=after_speech if after_speech is not None else [],
        on_end_reason=(reasons if reasons is not None else []).append,
    )


async def test_silence_prompts_once_then_says_goodbye_and_ends() -> None:
    reasons: list[str] = []
    down, _ = await run_test(
        guard(reasons=reasons),
        frames_to_send=[
            PlaybackFinishedFrame(),
            SleepFrame(sleep=0.3),
            PlaybackFinishedFrame(),  # "are you still there?" finished playing
            SleepFrame(sleep=0.3),
        ],
        frames_to_send_direction=FrameDirection.UPSTREAM,
        send_end_frame=False,
    )
    assert spoken(down) == ["Are you still there?", "Bye now."]
    assert any(isinstance(f, EndWorkerFrame) for f in down)
    assert reasons == ["silence"]


async def test_caller_speech_cancels_the_silence_timer() -> None:
    g = guard()
    down, _ = await run_test(
        g,
        frames_to_send=[
            SleepFrame(sleep=0.05),
            UserStartedSpeakingFrame(),
            SleepFrame(sleep=0.3),
        ],
    )
    assert spoken(down) == []


async def test_after_speech_actions_run_once_playback_finished() -> None:
    ran: list[str] = []

    async def transfer() -> None:
        ran.append("transfer")

    async def broken() -> None:
        raise RuntimeError("REST down")

    queue = [broken, transfer]
    await run_test(
        guard(after_speech=queue, silence=5),
        frames_to_send=[PlaybackFinishedFrame(), SleepFrame(sleep=0.05)],
        frames_to_send_direction=FrameDirection.UPSTREAM,
    )
    assert ran == ["transfer"]
    assert queue == []


async def test_max_duration_says_goodbye_and_ends() -> None:
    reasons: list[str] = []
    down, _ = await run_test(
        guard(reasons=reasons, max_secs=0.1, silence=5),
        frames_to_send=[SleepFrame(sleep=0.3)],
        send_end_frame=False,
    )
    assert spoken(down) == ["Time."]
    assert reasons == ["max_duration"]


async def test_twilio_stop_cancels_the_call() -> None:
    reasons: list[str] = []
    _, up = await run_test(
        guard(reasons=reasons), frames_to_send=[TwilioStopFrame()], send_end_frame=False
    )
    assert any(isinstance(f, CancelWorkerFrame) for f in up)
    assert reasons == ["caller_hangup"]


async def test_keypad_zero_escalates_and_speaks_the_answer() -> None:
    calls: list[str] = []

    async def on_zero() -> str:
        calls.append("escalate")
        await asyncio.sleep(0)
        return "Connecting you now."

    down, _ = await run_test(
        Keypad(on_zero=on_zero),
        frames_to_send=[InputDTMFFrame(KeypadEntry.ONE), InputDTMFFrame(KeypadEntry.ZERO)],
    )
    assert calls == ["escalate"]
    assert spoken(down) == ["Connecting you now."]
    assert sum(isinstance(f, InputDTMFFrame) for f in down) == 2


async def test_an_empty_llm_reply_is_reported_but_not_an_interrupted_one() -> None:
    empties: list[str] = []

    async def on_empty() -> None:
        empties.append("empty")

    g = CallGuard(
        lines=LINES,
        max_call_secs=60,
        silence_secs=5,
        after_speech=[],
        on_end_reason=lambda _reason: None,
        on_empty_reply=on_empty,
    )
    await run_test(
        g,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            LLMFullResponseEndFrame(),  # nothing said: a failure
            SleepFrame(sleep=0.7),  # reported after the grace period
            LLMFullResponseStartFrame(),
            LLMFullResponseEndFrame(),  # nothing said, but its tool call trails the end:
            SleepFrame(sleep=0.1),
            FunctionCallsStartedFrame(function_calls=[]),  # not a failure
            SleepFrame(sleep=0.7),
            LLMFullResponseStartFrame(),
            LLMTextFrame("Hello"),
            LLMFullResponseEndFrame(),  # fine
            LLMFullResponseStartFrame(),
            SleepFrame(),  # system frames overtake queued ones; keep the real order
            UserStartedSpeakingFrame(),
            SleepFrame(),
            LLMFullResponseEndFrame(),  # cut short by the caller: not a failure
            SleepFrame(sleep=0.7),
        ],
    )
    assert empties == ["empty"]

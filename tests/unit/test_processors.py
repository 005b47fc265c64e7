"""Our FrameProcessors, each run in a real Pipecat pipeline with `run_test`."""

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
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
from zylin.call.playout import AfterHeard, HeardProbeFrame, ProbeHeardFrame, say_goodbye
from zylin.call.tasks import CallTasks
from zylin.end_reason import CallEnd, EndReason
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


@dataclass
class Guarded:
    """A CallGuard wired to a real CallEnd and AfterHeard, as bot.py wires it."""

    guard: CallGuard
    end: CallEnd
    heard: AfterHeard


@pytest.fixture
async def tasks() -> AsyncIterator[CallTasks]:
    """The call's timers; what a test leaves running is stopped with it, as at a call's end."""
    timers = CallTasks()
    yield timers
    await timers.drain()


def guard(
    tasks: CallTasks,
    *,
    silence: float = 5.0,
    max_secs: float = 60.0,
    on_empty=None,
    ending: bool = False,
) -> Guarded:
    end, heard = CallEnd(), AfterHeard(tasks)
    g = CallGuard(
        lines=LINES,
        max_call_secs=max_secs,
        silence_secs=silence,
        on_probe_heard=heard.heard,
        note_end=end.note,
        say_goodbye=functools.partial(say_goodbye, heard, end, fallback_secs=30),
        is_ending=lambda: ending,
        on_empty_reply=on_empty,
    )
    return Guarded(g, end, heard)


def probes(frames) -> list[int]:
    return [f.probe_id for f in frames if isinstance(f, HeardProbeFrame)]


@pytest.mark.timing
async def test_silence_prompts_once_then_says_goodbye_and_ends_once_heard(tasks: CallTasks) -> None:
    g = guard(tasks, silence=0.2)
    down, _ = await run_test(
        g.guard,
        frames_to_send=[
            PlaybackFinishedFrame(),
            SleepFrame(sleep=1.0),
            PlaybackFinishedFrame(),  # "are you still there?" finished playing
            SleepFrame(sleep=1.0),
            ProbeHeardFrame(probe_id=1),  # the goodbye's own mark came back: the call ends
            SleepFrame(sleep=0.1),
        ],
        frames_to_send_direction=FrameDirection.UPSTREAM,
        send_end_frame=False,
    )
    assert spoken(down) == ["Are you still there?", "Bye now."]
    assert probes(down) == [1]
    assert g.end.reason == EndReason.SILENCE
    ends = [f for f in down if isinstance(f, EndWorkerFrame)]
    assert len(ends) == 1 and ends[0].reason == "silence"


async def test_the_length_goodbye_ends_the_call_when_its_own_mark_is_heard(
    tasks: CallTasks,
) -> None:
    g = guard(tasks, max_secs=0.05)
    down, _ = await run_test(
        g.guard,
        frames_to_send=[SleepFrame(sleep=0.3), ProbeHeardFrame(probe_id=1), SleepFrame(0.1)],
        frames_to_send_direction=FrameDirection.UPSTREAM,
        send_end_frame=False,
    )
    assert spoken(down) == ["Time."] and probes(down) == [1]
    ends = [f for f in down if isinstance(f, EndWorkerFrame)]
    assert len(ends) == 1 and ends[0].reason == "max_duration"
    assert g.end.reason == EndReason.MAX_DURATION


async def test_an_earlier_lines_echo_does_not_count_as_heard(tasks: CallTasks) -> None:
    heard = AfterHeard(tasks)
    pushed: list[HeardProbeFrame] = []
    ran: list[str] = []

    async def push(frame) -> None:
        pushed.append(frame)

    async def end() -> None:
        ran.append("end")

    await heard.after(push, end, fallback_secs=30, name="end")
    [probe] = pushed
    await heard.heard(probe.probe_id + 1)  # a mark of some other line
    assert ran == [] and heard.waiting == 1
    await heard.heard(probe.probe_id)
    await heard.heard(probe.probe_id)  # an echo twice runs it once
    assert ran == ["end"] and heard.waiting == 0


async def test_no_second_goodbye_once_the_call_is_ending(tasks: CallTasks) -> None:
    g = guard(tasks, max_secs=0.05, ending=True)  # end_call already said goodbye
    down, _ = await run_test(g.guard, frames_to_send=[SleepFrame(sleep=0.3)])
    assert spoken(down) == []
    assert g.end.reason is None


@pytest.mark.timing
async def test_caller_speech_cancels_the_silence_timer(tasks: CallTasks) -> None:
    g = guard(tasks, silence=0.3)
    down, _ = await run_test(
        g.guard,
        frames_to_send=[
            SleepFrame(sleep=0.05),
            UserStartedSpeakingFrame(),
            SleepFrame(sleep=1.0),
        ],
    )
    assert spoken(down) == []


async def test_a_probes_echo_runs_what_waited_for_it(tasks: CallTasks) -> None:
    g = guard(tasks)
    ran: list[str] = []

    async def transfer() -> None:
        ran.append("transfer")

    async def broken() -> None:
        raise RuntimeError("REST down")

    async def ignore(_frame) -> None:
        return None

    await g.heard.after(ignore, broken, fallback_secs=30, name="broken")
    await g.heard.after(ignore, transfer, fallback_secs=30, name="transfer")
    await run_test(
        g.guard,
        frames_to_send=[ProbeHeardFrame(probe_id=1), ProbeHeardFrame(probe_id=2), SleepFrame()],
        frames_to_send_direction=FrameDirection.UPSTREAM,
    )
    assert ran == ["transfer"]
    assert g.heard.waiting == 0


async def test_marks_turn_probes_into_marks_and_their_echoes_into_heard_frames() -> None:
    down, up = await run_test(
        PlaybackMarks("MZ1"),
        frames_to_send=[
            TTSStoppedFrame(),
            HeardProbeFrame(probe_id=3),
            TwilioMarkFrame(mark_name="utterance-1"),
            TwilioMarkFrame(mark_name="heard-3"),
            TwilioMarkFrame(mark_name="heard-x"),  # junk from the socket is ignored
            SleepFrame(),
        ],
    )
    names = [f.message["mark"]["name"] for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert names == ["utterance-1", "heard-3"]
    assert not any(isinstance(f, HeardProbeFrame) for f in down)
    assert [f.probe_id for f in up if isinstance(f, ProbeHeardFrame)] == [3]


async def test_twilio_stop_cancels_the_call(tasks: CallTasks) -> None:
    g = guard(tasks)
    _, up = await run_test(g.guard, frames_to_send=[TwilioStopFrame()], send_end_frame=False)
    assert any(isinstance(f, CancelWorkerFrame) for f in up)
    assert g.end.reason == EndReason.CALLER_HANGUP


async def test_keypad_zero_escalates_and_speaks_the_answer() -> None:
    calls: list[str] = []

    async def on_zero(push_frame) -> None:
        calls.append("escalate")
        await asyncio.sleep(0)
        await push_frame(TTSSpeakFrame("Connecting you now."))

    down, _ = await run_test(
        Keypad(on_zero=on_zero),
        frames_to_send=[InputDTMFFrame(KeypadEntry.ONE), InputDTMFFrame(KeypadEntry.ZERO)],
    )
    assert calls == ["escalate"]
    assert spoken(down) == ["Connecting you now."]
    assert sum(isinstance(f, InputDTMFFrame) for f in down) == 2


@pytest.mark.timing
async def test_an_empty_llm_reply_is_reported_but_not_an_interrupted_one(tasks: CallTasks) -> None:
    empties: list[str] = []

    async def on_empty() -> None:
        empties.append("empty")

    await run_test(
        guard(tasks, on_empty=on_empty).guard,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            LLMFullResponseEndFrame(),  # nothing said: a failure
            SleepFrame(sleep=1.5),  # reported after the grace period (0.5 s)
            LLMFullResponseStartFrame(),
            LLMFullResponseEndFrame(),  # nothing said, but its tool call trails the end:
            SleepFrame(sleep=0.1),
            FunctionCallsStartedFrame(function_calls=[]),  # not a failure
            SleepFrame(sleep=1.5),
            LLMFullResponseStartFrame(),
            LLMTextFrame("Hello"),
            LLMFullResponseEndFrame(),  # fine
            LLMFullResponseStartFrame(),
            SleepFrame(),  # system frames overtake queued ones; keep the real order
            UserStartedSpeakingFrame(),
            SleepFrame(),
            LLMFullResponseEndFrame(),  # cut short by the caller: not a failure
            SleepFrame(sleep=1.5),
        ],
    )
    assert empties == ["empty"]

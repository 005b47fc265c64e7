"""Screening: the profile's rules, and the call guard ending a call nobody speaks on."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import SleepFrame, run_test

from processors.call_guard import CallGuard, GuardLines
from processors.frames import PlaybackFinishedFrame
from tests.profile_data import ISSUE_PROFILE
from zylin.business import BusinessProfile
from zylin.business.profile import ProfileError, load_profile
from zylin.business.screening import ScreeningRules
from zylin.call.playout import AfterHeard, ProbeHeardFrame, say_goodbye
from zylin.call.tasks import CallTasks
from zylin.end_reason import CallEnd, EndReason

LINES = GuardLines(
    still_there="Still there?",
    silence_goodbye="Bye now.",
    max_duration_goodbye="Time.",
    no_speech_goodbye="Nobody there. Goodbye.",
)


def test_blocklist_matches_numbers_however_the_owner_wrote_them() -> None:
    rules = ScreeningRules.model_validate({"blocklist": ["+1 (555) 010-0199", "+15550100200"]})
    assert rules.blocklist == ["+15550100199", "+15550100200"]
    assert rules.blocked("+15550100199")
    assert not rules.blocked("+15550100198")
    assert not rules.blocked(None) and not rules.blocked("")


def test_rate_limit_counts_calls_already_in_the_window() -> None:
    rules = ScreeningRules.model_validate({"rate_limit": {"calls": 3, "minutes": 10}})
    assert [rules.over_rate_limit(n) for n in range(5)] == [False, False, False, True, True]
    assert not ScreeningRules().over_rate_limit(100)  # no limit unless the owner sets one


def test_defaults_screen_only_silent_calls() -> None:
    profile = BusinessProfile.model_validate(ISSUE_PROFILE)
    assert profile.screening.blocklist == []
    assert profile.screening.rate_limit is None
    assert profile.screening.no_speech_secs == 8.0


@pytest.mark.parametrize(
    ("screening", "field"),
    [
        ({"blocklist": ["5550100"]}, "screening.blocklist"),
        ({"blocklist": "+15550100199"}, "screening.blocklist"),
        ({"rate_limit": {"calls": 0, "minutes": 10}}, "screening.rate_limit.calls"),
        ({"no_speech_secs": -1}, "screening.no_speech_secs"),
    ],
)
def test_bad_screening_names_the_field(tmp_path: Any, screening: dict, field: str) -> None:
    import yaml

    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({**ISSUE_PROFILE, "screening": screening}), encoding="utf-8")
    with pytest.raises(ProfileError, match=field.replace(".", r"\.")):
        load_profile(path)


@pytest.fixture
async def tasks() -> AsyncIterator[CallTasks]:
    timers = CallTasks()
    yield timers
    await timers.drain()


async def run_guard(
    tasks: CallTasks, frames: list[Frame], *, no_speech_secs: float, ends_itself: bool = False
) -> tuple[Sequence[Frame], CallEnd, list[str]]:
    end, heard = CallEnd(), AfterHeard(tasks)
    screened: list[str] = []

    async def on_no_speech() -> None:
        screened.append("no_speech")

    guard = CallGuard(
        lines=LINES,
        max_call_secs=60,
        silence_secs=30,
        on_probe_heard=heard.heard,
        note_end=end.note,
        say_goodbye=functools.partial(say_goodbye, heard, end, fallback_secs=30),
        is_ending=lambda: False,
        no_speech_secs=no_speech_secs,
        on_no_speech=on_no_speech,
    )
    down, _ = await run_test(
        guard,
        frames_to_send=frames,
        # A call the guard ends is over when its goodbye is heard; otherwise the test ends it.
        frames_to_send_direction=FrameDirection.UPSTREAM
        if ends_itself
        else FrameDirection.DOWNSTREAM,
        send_end_frame=not ends_itself,
    )
    return down, end, screened


def spoken(frames: Sequence[Frame]) -> list[str]:
    return [f.text for f in frames if isinstance(f, TTSSpeakFrame)]


@pytest.mark.timing
async def test_no_speech_after_the_greeting_is_screened_once_heard(tasks: CallTasks) -> None:
    down, end, screened = await run_guard(
        tasks,
        [
            PlaybackFinishedFrame(),  # the greeting was heard
            SleepFrame(sleep=0.6),
            PlaybackFinishedFrame(),  # a later line: the clock does not restart
            SleepFrame(sleep=0.3),
            ProbeHeardFrame(probe_id=1),  # the goodbye was heard: the call ends
            SleepFrame(sleep=0.1),
        ],
        no_speech_secs=0.5,
        ends_itself=True,
    )
    assert spoken(down) == ["Nobody there. Goodbye."]
    assert end.reason == EndReason.SCREENED
    assert screened == ["no_speech"]
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["screened"]


@pytest.mark.timing
@pytest.mark.parametrize(
    ("sign_of_life", "when"),
    [("speech", "during the greeting"), ("keypress", "after it")],
)
async def test_speech_or_a_keypress_means_someone_is_there(
    tasks: CallTasks, sign_of_life: str, when: str
) -> None:
    life: Frame = (
        UserStartedSpeakingFrame() if sign_of_life == "speech" else InputDTMFFrame(KeypadEntry.ONE)
    )
    frames: list[Frame] = (
        [life, PlaybackFinishedFrame(), SleepFrame(sleep=0.6)]
        if when == "during the greeting"
        else [PlaybackFinishedFrame(), SleepFrame(sleep=0.1), life, SleepFrame(sleep=0.5)]
    )
    down, end, screened = await run_guard(tasks, frames, no_speech_secs=0.3)
    assert spoken(down) == [] and end.reason is None and screened == []


@pytest.mark.timing
async def test_zero_turns_the_no_speech_check_off(tasks: CallTasks) -> None:
    down, end, _ = await run_guard(
        tasks, [PlaybackFinishedFrame(), SleepFrame(sleep=0.4)], no_speech_secs=0
    )
    assert spoken(down) == [] and end.reason is None

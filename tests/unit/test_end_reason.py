"""The one rule for a call's end reason: the first wins; a hand-off claims it and can be undone."""

import re
from pathlib import Path

import pytest

from zylin.end_reason import CallEnd, EndReason


def test_a_call_that_ended_with_nothing_noted_was_hung_up_by_the_caller() -> None:
    end = CallEnd()
    assert end.reason is None and end.should_hang_up
    assert end.final() == EndReason.CALLER_HANGUP


def test_the_first_reason_wins() -> None:
    end = CallEnd()
    end.note(EndReason.SILENCE)
    end.note(EndReason.CALLER_HANGUP)  # the hang-up that follows the goodbye
    end.note(EndReason.ERROR)
    assert end.final() == EndReason.SILENCE
    assert end.should_hang_up


@pytest.mark.parametrize("hand_off", [EndReason.TRANSFERRED, EndReason.MOVED_TO_LEGACY])
def test_a_hand_off_claims_the_call_and_zylin_does_not_hang_up(hand_off: EndReason) -> None:
    end = CallEnd()
    end.note(EndReason.BOT_ENDED)
    end.hand_off(hand_off)
    end.note(EndReason.CALLER_HANGUP)  # Twilio closes our stream when it takes the call
    assert end.final() == hand_off
    assert not end.should_hang_up


def test_a_failed_hand_off_gives_back_what_was_there() -> None:
    end = CallEnd()
    end.hand_off(EndReason.TRANSFERRED)
    end.release(EndReason.TRANSFERRED)
    assert end.reason is None and end.should_hang_up
    end.note(EndReason.ERROR)
    assert end.final() == EndReason.ERROR

    earlier = CallEnd()
    earlier.note(EndReason.MAX_DURATION)
    earlier.hand_off(EndReason.MOVED_TO_LEGACY)
    earlier.release(EndReason.MOVED_TO_LEGACY)
    assert earlier.final() == EndReason.MAX_DURATION


def test_releasing_another_hand_off_changes_nothing() -> None:
    end = CallEnd()
    end.hand_off(EndReason.MOVED_TO_LEGACY)
    end.release(EndReason.TRANSFERRED)
    assert end.final() == EndReason.MOVED_TO_LEGACY


def test_the_kinds_of_reason_cannot_be_mixed_up() -> None:
    end = CallEnd()
    with pytest.raises(ValueError, match="hand-off"):
        end.note(EndReason.TRANSFERRED)
    with pytest.raises(ValueError, match="not a hand-off"):
        end.hand_off(EndReason.SILENCE)


def test_the_readme_names_exactly_the_end_reasons_there_are() -> None:
    """The metrics docs once named `zylin_ended`, a reason no call ever had."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("End reasons stored") : readme.index("## Tests")]
    named = set(re.findall(r"`([a-z_]+)`", section)) - {"zylin_calls_total"}
    assert named == {reason.value for reason in EndReason}

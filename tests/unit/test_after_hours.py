"""After-hours mode: open or closed by the business's hours, timezone and closed dates, and
what a call starting then is greeted with and may do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.profile_data import ISSUE_PROFILE
from tools import ALL_TOOLS
from zylin.business import BusinessProfile
from zylin.call.opening import greeting_for, tools_for
from zylin.prompts import load_prompts, render_system_prompt

# 2026-11-30 is a Monday; New York is UTC-5 then.
MON_10AM = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
MON_8AM = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
MON_6PM = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
FRI_2PM = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
CHRISTMAS_10AM = datetime(2026, 12, 25, 15, 0, tzinfo=UTC)  # a Friday


def profile(**more: Any) -> BusinessProfile:
    return BusinessProfile.model_validate({**ISSUE_PROFILE, **more})


def test_open_follows_hours_timezone_and_closed_dates() -> None:
    p = profile(closed_dates=["2026-12-25"])
    assert p.open_at(MON_10AM)
    assert not p.open_at(MON_8AM) and not p.open_at(MON_6PM) and not p.open_at(FRI_2PM)
    assert p.open_at(CHRISTMAS_10AM - timedelta(days=1))  # Thursday the 24th
    assert not p.open_at(CHRISTMAS_10AM)
    assert p.opening_on(date(2026, 12, 25)) is None  # no bookings on a closed date either
    assert not p.owner_reachable_at(CHRISTMAS_10AM)


@pytest.mark.parametrize(
    ("now", "closed", "words"),
    [
        (MON_8AM, [], "today at 9 AM"),
        (MON_6PM, [], "tomorrow at 9 AM"),
        (FRI_2PM, [], "on Monday at 9 AM"),
        (CHRISTMAS_10AM, ["2026-12-25"], "on Monday at 9 AM"),
        (MON_6PM, [f"2026-12-{d:02d}" for d in range(1, 11)], "on Friday, December 11 at 9 AM"),
    ],
)
def test_when_the_business_opens_again_in_words(
    now: datetime, closed: list[str], words: str
) -> None:
    assert profile(closed_dates=closed).opens_again_in_words(now) == words


def test_closed_dates_under_after_hours_count_too() -> None:
    p = profile(after_hours={"closed_dates": ["2026-11-30"]})
    assert not p.open_at(MON_10AM)


def test_half_hours_are_said_as_people_say_them() -> None:
    hours = {**ISSUE_PROFILE["hours"], "tue": "13:30-17:00"}
    assert profile(hours=hours).opens_again_in_words(MON_6PM) == "tomorrow at 1:30 PM"


@pytest.mark.parametrize(
    ("after_hours", "message"),
    [
        ({"mode": "forward"}, "needs forward_to"),
        ({"mode": "forward", "forward_to": "555-0100"}, "not an E.164"),
        ({"mode": "voicemail"}, "after_hours.mode"),
    ],
)
def test_bad_after_hours_section_says_why(after_hours: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        profile(after_hours=after_hours)


def test_defaults_take_messages_with_no_closed_dates() -> None:
    p = profile()
    assert p.after_hours.mode == "take_messages" and p.closed_dates == []


def test_greeting_says_closed_and_when_it_opens() -> None:
    prompts = load_prompts()
    assert greeting_for(prompts, profile(), MON_10AM) == prompts.greeting(profile())
    closed = greeting_for(prompts, profile(), MON_6PM)
    assert "closed right now" in closed and "tomorrow at 9 AM" in closed
    assert "take a message" in closed and "book" not in closed
    booking = greeting_for(prompts, profile(after_hours={"mode": "book_and_message"}), FRI_2PM)
    assert "on Monday at 9 AM" in booking and "book an appointment" in booking
    recorded = profile(recording={"enabled": True})
    assert greeting_for(prompts, recorded, MON_6PM).startswith("This call is recorded.")


def names(tools: list[Any]) -> set[str]:
    return {t.__name__ for t in tools}


def test_booking_tools_only_while_open_or_when_the_mode_books() -> None:
    everything = names(ALL_TOOLS)
    assert names(tools_for(ALL_TOOLS, profile(), MON_10AM)) == everything
    closed = names(tools_for(ALL_TOOLS, profile(), MON_6PM))
    assert "book_appointment" not in closed and "reschedule_appointment" not in closed
    assert {"take_message", "transfer_to_human", "end_call", "find_my_appointments"} <= closed
    books = profile(after_hours={"mode": "book_and_message"})
    assert names(tools_for(ALL_TOOLS, books, MON_6PM)) == everything


def test_system_prompt_says_whether_the_business_is_open() -> None:
    prompts = load_prompts()

    def rendered(p: BusinessProfile, now: datetime) -> str:
        return render_system_prompt(prompts, p, now=now, caller_known=True)

    assert "The business is open now." in rendered(profile(), MON_10AM)
    closed = rendered(profile(), MON_6PM)
    assert "closed right now and opens again tomorrow at 9 AM" in closed
    assert "cannot book" in closed
    booking = rendered(profile(after_hours={"mode": "book_and_message"}), MON_6PM)
    assert "can still book" in booking and "{{" not in booking

"""What a call starts with depends on whether the business is open: the greeting and the
tools the LLM is given (after-hours mode in the profile)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from zylin.business import BusinessProfile
from zylin.prompts import Prompts

# Tools that book, move or cancel: left out while closed unless the mode books.
BOOKING_TOOL_NAMES = frozenset(
    {"check_availability", "book_appointment", "reschedule_appointment", "cancel_appointment"}
)


def greeting_for(prompts: Prompts, profile: BusinessProfile, now: datetime) -> str:
    """The usual greeting while open; outside opening hours, that the business is closed, when
    it opens again, and what Zylin can do meanwhile."""
    if profile.open_at(now):
        return prompts.greeting(profile)
    name = (
        "greeting_closed_booking" if profile.after_hours.mode.books else "greeting_closed_messages"
    )
    text = prompts.line(name, profile, opens=profile.opens_again_in_words(now))
    if profile.recording.enabled:
        text = f"{prompts.line('recording_notice', profile)} {text}"
    return text


def tools_for(tools: Sequence[Any], profile: BusinessProfile, now: datetime) -> list[Any]:
    """The LLM's tools for a call starting at `now`: without the booking tools while the
    business is closed and its after-hours mode only takes messages."""
    if profile.open_at(now) or profile.after_hours.mode.books:
        return list(tools)
    return [tool for tool in tools if getattr(tool, "__name__", "") not in BOOKING_TOOL_NAMES]

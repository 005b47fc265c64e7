"""After-hours mode: what Zylin does while the business is closed, and when it opens again."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator

from zylin.business.numbers import E164

LOOK_AHEAD_DAYS = 62  # a long holiday closure still finds the day the business reopens


class AfterHoursMode(StrEnum):
    """The profile's `after_hours.mode`."""

    TAKE_MESSAGES = "take_messages"  # Zylin answers questions and takes messages, no bookings
    BOOK_AND_MESSAGE = "book_and_message"  # Zylin also books, moves and cancels
    FORWARD = "forward"  # the call is sent on to `forward_to`; a message if nobody answers

    @property
    def books(self) -> bool:
        """Whether Zylin books appointments while the business is closed."""
        return self == AfterHoursMode.BOOK_AND_MESSAGE


class AfterHours(BaseModel):
    """The profile's `after_hours:` section.

    `closed_dates` is accepted here too (the profile's top-level list is the usual place);
    the two are merged.
    """

    mode: AfterHoursMode = AfterHoursMode.TAKE_MESSAGES
    forward_to: str | None = None
    forward_ring_secs: int = Field(default=20, ge=5, le=60)
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("forward_to", mode="before")
    @classmethod
    def _e164(cls, value: object) -> object:
        if value is not None and not E164.match(str(value)):
            raise ValueError(f"{value!r} is not an E.164 phone number like +15551230000")
        return None if value is None else str(value)

    @model_validator(mode="after")
    def _forward_needs_a_number(self) -> AfterHours:
        if self.mode == AfterHoursMode.FORWARD and not self.forward_to:
            raise ValueError('mode "forward" needs forward_to: the number to send calls on to')
        return self


def spoken_time(moment: time) -> str:
    """`09:00` -> "9 AM", `13:30` -> "1:30 PM": how a receptionist says an hour."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{hour} {suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {suffix}"


def opens_in_words(opening: datetime, now: datetime) -> str:
    """When the business opens next, as said on the phone: "at 9 AM", "tomorrow at 9 AM",
    "on Monday at 9 AM", or with the date when it is more than a week away."""
    at = spoken_time(opening.time())
    days = (opening.date() - now.date()).days
    if days <= 0:
        return f"today at {at}"
    if days == 1:
        return f"tomorrow at {at}"
    if days < 7:
        return f"on {opening:%A} at {at}"
    return f"on {opening:%A, %B} {opening.day} at {at}"


def first_opening_after(
    local_now: datetime, hours_on: dict[date, tuple[time, time] | None]
) -> datetime | None:
    """The first opening time after `local_now`, given each day's (opens, closes) or None.

    `hours_on` maps the days to look at, in order, to that day's hours (holidays already
    None); the result carries `local_now`'s timezone.
    """
    for day, window in hours_on.items():
        if window is None:
            continue
        opens = datetime.combine(day, window[0], tzinfo=local_now.tzinfo)
        if opens > local_now:
            return opens
    return None


def days_from(start: date, count: int = LOOK_AHEAD_DAYS) -> list[date]:
    """`count` consecutive days from `start`."""
    return [start + timedelta(days=n) for n in range(count)]

"""Argument checks for the tools; each failure carries words Zylin can say to the caller."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from zylin.business.profile import WEEKDAY_NAMES, WEEKDAYS, BusinessProfile, Service

MAX_NAME = 100
MAX_TEXT = 1000
MAX_REASON = 300

_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_START = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?\s*$"
)
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


# One answer for a missing appointment and for another caller's: ids must not leak bookings.
APPOINTMENT_NOT_FOUND = (
    "I couldn't find that appointment under the number you're calling from. "
    "I can look up your upcoming appointments."
)


class ToolInputError(ValueError):
    """A tool argument that cannot be used; `str(error)` is said to the caller."""


# --- Words ---------------------------------------------------------------------------------


def say_time(moment: datetime | time) -> str:
    """'10:30 AM' (what a person says; no leading zero)."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def say_day(day: date) -> str:
    """'Tuesday, December 1'."""
    return f"{day:%A}, {day:%B} {day.day}"


def say_when(moment: datetime) -> str:
    """'Tuesday, December 1 at 10:30 AM' (pass a business-local datetime)."""
    return f"{say_day(moment.date())} at {say_time(moment)}"


def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def hours_sentence(profile: BusinessProfile) -> str:
    """The opening hours as one sentence, e.g. 'We're open Monday 9:00 AM to 5:00 PM, ...'."""
    parts = []
    for day in WEEKDAYS:
        window = profile.hours.get(day)
        if window:
            parts.append(
                f"{WEEKDAY_NAMES[day]} {say_time(window.opens)} to {say_time(window.closes)}"
            )
    return f"We're open {join_words(parts)}." if parts else "We have no opening hours set."


# --- Text ----------------------------------------------------------------------------------


def clean_text(value: object, *, what: str, max_len: int, required: bool) -> str:
    """Trimmed text without control characters; refused when missing (if required) or absurd."""
    text = "" if value is None else str(value)
    text = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in text
    )  # newlines, NULs and other controls become spaces
    text = " ".join(text.split())
    if required and not text:
        raise ToolInputError(f"I need the {what} first. Could you ask the caller for it?")
    if len(text) > max_len:
        raise ToolInputError(
            f"The {what} is too long (over {max_len} characters). Please keep it shorter."
        )
    return text


def clean_phone(value: object) -> str | None:
    """A callback number as digits (with a leading + if given), or None when empty.

    Accepts what people say or type: spaces, dashes, dots, parentheses.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    compact = _PHONE_SEPARATORS.sub("", text)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ToolInputError(
            "That phone number doesn't look right. Could you ask for it again, digit by digit?"
        )
    return f"+{digits}" if plus else digits


# --- Services, ids -------------------------------------------------------------------------


def find_service(profile: BusinessProfile, name: object) -> Service:
    """The profile's service called `name`, or an error naming the real ones."""
    service = profile.service(str(name or ""))
    if service is None:
        names = join_words([s.name for s in profile.services])
        said = str(name or "").strip()[:60]
        prefix = f"We don't offer {said!r}. " if said else "Which service would you like? "
        raise ToolInputError(f"{prefix}We offer {names}.")
    return service


def parse_appointment_id(value: object) -> int:
    """An appointment id from the LLM (an int, or digits in a string)."""
    text = str(value).strip().lstrip("#")
    if isinstance(value, bool) or not text.isdigit() or len(text) > 12:
        raise ToolInputError(APPOINTMENT_NOT_FOUND)
    return int(text)


# --- Dates and times -----------------------------------------------------------------------


def parse_day(value: object) -> date:
    """A `YYYY-MM-DD` date."""
    match = _DATE.match(str(value or ""))
    try:
        if not match:
            raise ValueError
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ToolInputError(
            "I didn't understand that date. Which day would you like? "
            "(Give the date as year-month-day, for example 2026-12-01.)"
        ) from None


def parse_start(value: object, profile: BusinessProfile) -> datetime:
    """A `YYYY-MM-DDTHH:MM` start time in the business timezone, as an aware datetime."""
    match = _START.match(str(value or ""))
    try:
        if not match:
            raise ValueError
        year, month, day, hour, minute = (int(g) for g in match.groups())
        naive = datetime(year, month, day, hour, minute)
    except ValueError:
        raise ToolInputError(
            "I didn't understand that date and time. What day and time would you like? "
            "(Give it as year-month-day and 24-hour time, for example 2026-12-01T10:30.)"
        ) from None
    return naive.replace(tzinfo=profile.tz)


def check_day(profile: BusinessProfile, day: date, now: datetime) -> None:
    """The day is today or later, within the booking horizon, and the business is open."""
    today = profile.local_now(now).date()
    if day < today:
        raise ToolInputError(
            f"{say_day(day)} has already passed. Today is {say_day(today)}. "
            "Which upcoming day would you like?"
        )
    last = profile.days_ahead_limit(now)
    if day > last:
        raise ToolInputError(
            f"We only book up to {profile.booking.max_days_ahead} days ahead, so the latest day "
            f"I can book is {say_day(last)}."
        )
    if profile.opening_on(day) is None:
        raise ToolInputError(f"We're closed on {day:%A}s. {hours_sentence(profile)}")


def check_start(profile: BusinessProfile, service: Service, start: datetime, now: datetime) -> None:
    """A start the book accepts: open day, inside hours, on the grid, with enough notice.

    `start` is business-local. Errors say why; the caller adds the nearest free times.
    """
    check_day(profile, start.date(), now)
    window = profile.opening_on(start.date())
    assert window is not None  # check_day refused closed days
    opens = datetime.combine(start.date(), window.opens, tzinfo=profile.tz)
    closes = datetime.combine(start.date(), window.closes, tzinfo=profile.tz)
    length = timedelta(minutes=service.minutes)
    if start < opens or start + length > closes:
        last = closes - length
        latest = f" so the last {service.name} starts at {say_time(last)}" if last >= opens else ""
        raise ToolInputError(
            f"That's outside our hours. On {start:%A}s we're open {say_time(window.opens)} to "
            f"{say_time(window.closes)}, and a {service.name} takes {service.minutes} minutes,"
            f"{latest}."
        )
    step = profile.booking.slot_minutes
    offset = int((start - opens).total_seconds() // 60)
    if offset % step or start.second or start.microsecond:
        raise ToolInputError(
            f"Appointments start every {step} minutes from {say_time(window.opens)}; "
            "that exact time isn't one of them."
        )
    earliest = now + timedelta(minutes=profile.booking.min_notice_minutes)
    if start < earliest:
        if start < now:
            raise ToolInputError("That time has already passed today.")
        raise ToolInputError(
            f"We need at least {profile.booking.min_notice_minutes} minutes' notice for a booking."
        )

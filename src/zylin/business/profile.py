"""The business profile: a YAML file the owner edits, validated into typed settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from zylin.business.after_hours import (
    AfterHours,
    days_from,
    first_opening_after,
    opens_in_words,
)
from zylin.business.numbers import E164
from zylin.business.screening import ScreeningRules

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class ProfileError(ValueError):
    """The profile file cannot be used; the message names the file and the bad field."""


class OpenRange(BaseModel):
    """One day's opening hours."""

    opens: time
    closes: time


def _parse_range(value: object) -> OpenRange | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "closed"):
        return None
    if value is False:
        return None
    if not isinstance(value, str):
        raise ValueError('must be "HH:MM-HH:MM" or closed')
    match = _RANGE.match(value.strip())
    if not match:
        raise ValueError(f'{value!r} is not "HH:MM-HH:MM" or closed')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{value!r} is not a valid time range")
    closes = time(23, 59) if h2 == 24 else time(h2, m2)
    opens = time(h1, m1)
    if closes <= opens:
        raise ValueError(f"{value!r} closes before it opens")
    return OpenRange(opens=opens, closes=closes)


def _parse_week(value: object) -> dict[str, OpenRange | None]:
    if not isinstance(value, dict):
        raise ValueError("must map mon..sun to opening hours")
    unknown = sorted(set(map(str, value)) - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"unknown day(s) {', '.join(unknown)}; use {', '.join(WEEKDAYS)}")
    return {day: _parse_range(value.get(day)) for day in WEEKDAYS}


class Service(BaseModel):
    """A bookable service."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=80)
    minutes: int = Field(gt=0, le=8 * 60)
    price: str | None = None


class Faq(BaseModel):
    """A question callers ask, with the business's answer."""

    q: str = Field(min_length=1)
    a: str = Field(min_length=1)


class BookingRules(BaseModel):
    """How far ahead and at what granularity appointments can be booked."""

    slot_minutes: int = Field(default=15, ge=5, le=240)
    min_notice_minutes: int = Field(default=60, ge=0)
    max_days_ahead: int = Field(default=90, ge=1, le=730)
    max_bookings_per_call: int = Field(default=3, ge=1, le=20)


class SmsSettings(BaseModel):
    """Text messages after bookings, cancellations and messages."""

    enabled: bool = False
    from_number: str | None = None
    notify_owner: bool = True

    @field_validator("from_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164.match(value):
            raise ValueError(f"{value!r} is not an E.164 phone number like +15551230000")
        return value


class RecordingSettings(BaseModel):
    """Whether calls are recorded to WAV (the greeting then says so)."""

    enabled: bool = False


class BusinessProfile(BaseModel):
    """Everything Zylin knows about the business it answers for."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=120)
    timezone: str
    owner_phone: str
    hours: dict[str, OpenRange | None]
    transfer_hours: dict[str, OpenRange | None] | None = None
    services: list[Service] = Field(min_length=1)
    faq: list[Faq] = Field(default_factory=list)
    address: str | None = None
    booking: BookingRules = Field(default_factory=BookingRules)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    screening: ScreeningRules = Field(default_factory=ScreeningRules)
    after_hours: AfterHours = Field(default_factory=AfterHours)
    # Languages callers may speak (ISO 639-1), the first one greets; a TTS voice per language.
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1, max_length=10)
    voices: dict[str, str] = Field(default_factory=dict)
    # Holidays and other days the business is closed, in its own timezone (YYYY-MM-DD).
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA timezone such as America/New_York"
            ) from None
        return value

    @field_validator("owner_phone")
    @classmethod
    def _owner_e164(cls, value: str) -> str:
        if not E164.match(str(value)):
            raise ValueError(f"{value!r} is not an E.164 phone number like +15551230000")
        return str(value)

    @field_validator("hours", "transfer_hours", mode="before")
    @classmethod
    def _week(cls, value: object) -> object:
        return None if value is None else _parse_week(value)

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [str(code).strip().lower() for code in value]
        bad = [code for code in codes if not _LANGUAGE.match(code)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: use two-letter language codes such as en, es")
        if len(set(codes)) != len(codes):
            raise ValueError("a language is listed twice")
        return codes

    @model_validator(mode="after")
    def _voices_for_languages(self) -> BusinessProfile:
        unknown = sorted(set(self.voices) - set(self.languages))
        if unknown:
            raise ValueError(f"voices for {', '.join(unknown)}, which is not in languages")
        return self

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[Service]) -> list[Service]:
        names = [s.name.casefold() for s in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"service listed twice: {', '.join(duplicates)}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The business timezone."""
        return ZoneInfo(self.timezone)

    def service(self, name: str) -> Service | None:
        """The service called `name` (case and surrounding space ignored)."""
        wanted = name.strip().casefold()
        for service in self.services:
            if service.name.casefold() == wanted:
                return service
        return None

    def closed_on(self, day: date) -> bool:
        """Whether `day` is one of the closed dates (holidays)."""
        return day in self.closed_dates or day in self.after_hours.closed_dates

    def opening_on(self, day: date) -> OpenRange | None:
        """Opening hours on a date, or None when closed (that weekday, or a closed date)."""
        if self.closed_on(day):
            return None
        return self.hours.get(WEEKDAYS[day.weekday()])

    def open_at(self, moment: datetime) -> bool:
        """Whether the business is open at `moment` (its timezone, hours and closed dates)."""
        local = moment.astimezone(self.tz)
        window = self.opening_on(local.date())
        return window is not None and window.opens <= local.time() < window.closes

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the business next opens after `moment` (local time), None if never soon."""
        local = moment.astimezone(self.tz)
        hours_on = {
            day: (w.opens, w.closes) if (w := self.opening_on(day)) else None
            for day in days_from(local.date())
        }
        return first_opening_after(local, hours_on)

    def opens_again_in_words(self, moment: datetime) -> str:
        """ "tomorrow at 9 AM" and the like, for a closed business's greeting."""
        opening = self.next_opening(moment)
        if opening is None:
            return "as soon as we can"
        return opens_in_words(opening, moment.astimezone(self.tz))

    def owner_reachable_at(self, moment: datetime) -> bool:
        """Whether a transfer to the owner may ring now (transfer hours, else opening hours)."""
        local = moment.astimezone(self.tz)
        week = self.transfer_hours if self.transfer_hours is not None else self.hours
        window = week.get(WEEKDAYS[local.weekday()])
        if self.closed_on(local.date()):
            return False
        return window is not None and window.opens <= local.time() < window.closes

    def hours_in_words(self) -> list[str]:
        """One line per day, e.g. "Monday: 09:00 to 17:00" or "Saturday: closed"."""
        lines = []
        for day in WEEKDAYS:
            window = self.hours.get(day)
            when = f"{window.opens:%H:%M} to {window.closes:%H:%M}" if window else "closed"
            lines.append(f"{WEEKDAY_NAMES[day]}: {when}")
        return lines

    def local_now(self, now: datetime) -> datetime:
        """`now` in the business timezone."""
        return now.astimezone(self.tz)

    def days_ahead_limit(self, now: datetime) -> date:
        """The last date that may be booked."""
        return (self.local_now(now) + timedelta(days=self.booking.max_days_ahead)).date()


def _field_path(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load_profile(
    path: Path, *, name_override: str | None = None, owner_phone_override: str | None = None
) -> BusinessProfile:
    """Read and validate the profile; `BUSINESS_NAME` / `OWNER_PHONE` override the file.

    Raises:
        ProfileError: naming the file and each bad field, so start-up fails clearly.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"business profile {path} does not exist (BUSINESS_PROFILE)") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"business profile {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"business profile {path} must be a mapping of fields")
    if name_override:
        raw["name"] = name_override
    if owner_phone_override:
        raw["owner_phone"] = owner_phone_override
    try:
        return BusinessProfile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_field_path(e)}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"business profile {path} has bad fields: {problems}") from None

"""Screening rules from the profile: numbers refused at once, a per-number rate limit, and how
long a call may stay silent after the greeting before it is taken for a machine."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from zylin.business.numbers import E164

_DIALLED = re.compile(r"[\s().\-/]")


class ScreenedBecause(StrEnum):
    """Why a call was screened (stored in the `screened` action's detail)."""

    BLOCKLIST = "blocklist"
    RATE_LIMIT = "rate_limit"
    NO_SPEECH = "no_speech"


def normalized_number(number: str) -> str:
    """A number as Twilio sends `From` (E.164): spaces, dashes, dots and brackets dropped, so
    "+1 (555) 010-0199" in the profile matches "+15550100199" on a call."""
    return _DIALLED.sub("", number.strip())


class RateLimit(BaseModel):
    """At most `calls` calls from one number within `minutes`; further ones are screened."""

    calls: int = Field(ge=1, le=1000)
    minutes: int = Field(ge=1, le=7 * 24 * 60)


class ScreeningRules(BaseModel):
    """The profile's `screening:` section.

    The blocklist and the rate limit are checked on the webhook, before anything paid for
    starts; `no_speech_secs` ends a streamed call nobody speaks on after the greeting.
    """

    blocklist: list[str] = Field(default_factory=list)
    rate_limit: RateLimit | None = None  # off unless set: shared lines call often
    no_speech_secs: float = Field(default=8.0, ge=0, le=120)  # 0 turns the check off

    @field_validator("blocklist", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("must be a list of phone numbers")
        numbers = []
        for item in value:
            number = normalized_number(str(item))
            if not E164.match(number):
                raise ValueError(f"{item!r} is not an E.164 phone number like +15551230000")
            numbers.append(number)
        return sorted(set(numbers))

    def blocked(self, caller: str | None) -> bool:
        """Whether `caller` is on the blocklist (a hidden number never is)."""
        return bool(caller) and normalized_number(str(caller)) in self.blocklist

    def over_rate_limit(self, recent_calls: int) -> bool:
        """Whether one more call, after `recent_calls` in the window, is one too many."""
        return self.rate_limit is not None and recent_calls >= self.rate_limit.calls

"""What the demo brain says: the YAML phrase table filled with the business's values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from zylin.business.profile import WEEKDAY_NAMES, WEEKDAYS, BusinessProfile
from zylin.local.demo_tool_results import Appointment
from zylin.local.demo_understanding import Utterance
from zylin.local.spoken import MONTH_WORDS, money_words, ordinal_words, time_words

DEFAULT_PHRASES = Path(__file__).with_name("demo_phrases.yaml")


def load_phrases(path: Path = DEFAULT_PHRASES) -> dict[str, str]:
    """The phrasing table; fails at start-up, not mid-call, if it is not a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map phrase names to text")
    return {str(k): str(v) for k, v in data.items()}


def join_words(items: list[str]) -> str:
    """ "a, b and c", as said aloud."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Phrasing:
    """Phrases filled from the profile; numbers, days and times spelled as eSpeak says them."""

    def __init__(self, profile: BusinessProfile, phrases: Mapping[str, str]) -> None:
        """Keep the profile and the phrasing table."""
        self._profile = profile
        self._phrases = phrases

    def say(self, key: str, **values: Any) -> str:
        """A phrase from the YAML table with its placeholders filled."""
        text = self._phrases[key].format(business=self._profile.name, **values)
        return re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)  # "a.m.." -> "a.m."

    @staticmethod
    def day_words(day: date) -> str:
        """ "Monday, November thirtieth" (spelled out so eSpeak and STT agree)."""
        return f"{day:%A}, {MONTH_WORDS[day.month - 1].capitalize()} {ordinal_words(day.day)}"

    @staticmethod
    def time_words(t: time) -> str:
        """Clock time as said aloud."""
        return time_words(t.hour, t.minute)

    def appointment_words(self, a: Appointment) -> str:
        """ "a checkup on Monday, November thirtieth at ten thirty a.m." """
        service = (a.service or "visit").lower()
        if a.start is None:
            return f"your {service}"
        when = f"{self.day_words(a.start.date())} at {self.time_words(a.start.time())}"
        return f"a {service} on {when}"

    def service_names(self) -> str:
        """ "cleaning, checkup or whitening"."""
        return join_words([s.name.lower() for s in self._profile.services]).replace(" and ", " or ")

    def hours_text(self, day: date | None) -> str:
        """The opening hours of one day, or of the whole week when no day is given."""
        if day is not None:
            window = self._profile.opening_on(day)
            name = f"{day:%A}"
            if window is None:
                return self.say("hours_day_closed", day=name)
            return self.say(
                "hours_day_open",
                day=name,
                opens=time_words(window.opens.hour, window.opens.minute),
                closes=time_words(window.closes.hour, window.closes.minute),
            )
        return self.say("hours_intro", hours=self.week_hours())

    def week_hours(self) -> str:
        """Every weekday's hours in one sentence."""
        parts = []
        for key in WEEKDAYS:
            window = self._profile.hours.get(key)
            when = (
                f"{time_words(window.opens.hour, window.opens.minute)} to "
                f"{time_words(window.closes.hour, window.closes.minute)}"
                if window
                else "closed"
            )
            parts.append(f"{WEEKDAY_NAMES[key]} {when}")
        return "; ".join(parts)

    def prices(self) -> str:
        """Every priced service with its price in words."""
        return join_words(
            [f"{s.name.lower()} {money_words(s.price)}" for s in self._profile.services if s.price]
        )

    def info_notes(self, u: Utterance) -> list[str]:
        """Answers to the questions asked in one turn (hours, services, prices, FAQ)."""
        notes: list[str] = []
        service = self._profile.service(u.service) if u.service else None
        for info in u.info:
            if info == "hours":
                notes.append(self.hours_text(u.day))
            elif info == "services":
                notes.append(self.say("services", services=self.service_names()))
            elif info == "price" and service is not None:
                key = "price" if service.price else "price_unknown"
                price = money_words(service.price) if service.price else ""
                notes.append(
                    self.say(
                        key, service=service.name.lower(), price=price, minutes=service.minutes
                    )
                )
            elif info == "price":
                notes.append(self.say("prices", prices=self.prices()))
            elif info == "duration" and service is not None:
                notes.append(
                    self.say("duration", service=service.name.lower(), minutes=service.minutes)
                )
        if u.faq_answer:
            notes.append(self.say("faq", answer=u.faq_answer))
        return notes

    def sample_lines(self, today: date) -> list[str]:
        """Every phrase, filled with this business's values: all a caller can hear from the
        brain, so the simulated caller's recognizer can learn Zylin's side of a demo call."""
        days = [today + timedelta(days=n) for n in range(14)]
        times = [self.time_words(time(h, m)) for h in range(7, 20) for m in (0, 15, 30, 45)]
        services = self._profile.services
        values: dict[str, list[str]] = {
            "day": [self.day_words(d) for d in days] + [f"{d:%A}" for d in days[:7]],
            "time": times,
            "opens": times,
            "closes": times,
            "slots": [join_words(times[i : i + 3]) for i in range(len(times) - 2)],
            "service": [s.name.lower() for s in services],
            "services": [self.service_names()],
            "price": [money_words(s.price) for s in services if s.price],
            "minutes": [str(s.minutes) for s in services],
            "hours": [self.week_hours()],
            "prices": [self.prices()],
            "answer": [faq.a for faq in self._profile.faq],
            "name": ["there", "Ann Lee", "Robert", "Maria"],
        }
        values["times"] = values["slots"]
        values["part"] = ["morning", "afternoon", "evening"]
        values["appointments"] = [
            f"a {service} on {day} at {at}"
            for service, day, at in zip(
                values["service"] * 5, values["day"], times[8::4], strict=False
            )
        ]
        values["what"] = values["appointments"]
        lines = []
        for key, template in self._phrases.items():
            names = sorted({n for n in re.findall(r"\{(\w+)\}", template) if n != "business"})
            options = {n: values.get(n) or [""] for n in names}
            for i in range(max((len(o) for o in options.values()), default=1)):
                lines.append(self.say(key, **{n: o[i % len(o)] for n, o in options.items()}))
        return lines

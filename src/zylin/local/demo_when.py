"""Days and clock times as callers say them: "next Monday", "the 3rd", "half past two"."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from zylin.local.spoken import MONTH_WORDS, ORDINAL_VALUES, WEEKDAY_WORDS, WORD_VALUES, parse_number

_MERIDIEM = {"am": "am", "a.m.": "am", "a.m": "am", "pm": "pm", "p.m.": "pm", "p.m": "pm"}
# Parts of the day and where their hours lie (start inclusive, end exclusive).
PARTS_OF_DAY: dict[str, tuple[int, int]] = {
    "morning": (0, 12),
    "afternoon": (12, 17),
    "evening": (17, 24),
}
_PART_WORDS = {"morning": "morning", "afternoon": "afternoon", "evening": "evening"}
_PART_WORDS |= {"tonight": "evening", "lunchtime": "afternoon"}
_CUES = ("at", "around", "about", "by", "after", "say", "till", "until", "make")
_FRACTIONS = {"half": 30, "quarter": 15}


def _next_weekday(today: date, weekday: int, *, allow_today: bool = False) -> date:
    """The next such weekday ("Monday" said on a Monday means a week later)."""
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not allow_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _day_number(words: list[str], i: int) -> tuple[int, int] | None:
    """(day of month, words used) for "3rd", "3", "third", "twenty first" at words[i]."""
    if i >= len(words):
        return None
    w = words[i]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", w)
    if m:
        n = int(m.group(1))
        return (n, 1) if 1 <= n <= 31 else None
    if w in ORDINAL_VALUES:
        return ORDINAL_VALUES[w], 1
    if w in ("twenty", "thirty") and i + 1 < len(words) and words[i + 1] in ORDINAL_VALUES:
        n = WORD_VALUES[w] + ORDINAL_VALUES[words[i + 1]]
        return (n, 2) if n <= 31 else None
    return None


def _future_date(today: date, month: int | None, day: int) -> date | None:
    """The first date on or after today with that day (and month, when given)."""
    if month:
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
        return None
    year, mon = today.year, today.month
    for _ in range(13):
        try:
            candidate: date | None = date(year, mon, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return None


def _month_at(words: list[str], i: int) -> int | None:
    w = words[i] if i < len(words) else ""
    if w not in MONTH_WORDS or (w == "may" and (i == 0 or words[i - 1] in ("i", "we", "you"))):
        return None
    return MONTH_WORDS.index(w) + 1


def find_day(words: list[str], today: date) -> tuple[date, set[int]] | None:
    """A date and the indices of the words that said it, or None.

    Reads "today", "tomorrow", "the day after tomorrow", "Monday", "next Friday", "this
    Friday", "December third", "the 3rd", "the 3rd of December", "Tuesday the 8th"; an explicit
    date wins over a weekday said with it.
    """
    text = " ".join(words)
    if "day after tomorrow" in text:
        start = words.index("after") - 1
        return today + timedelta(days=2), set(range(start, start + 3))
    for i, w in enumerate(words):
        month = _month_at(words, i)
        if month:
            number = _day_number(words, i + 1)
            if number:
                found = _future_date(today, month, number[0])
                if found:
                    return found, set(range(i, i + 1 + number[1]))
        if w == "the" or (w == "on" and i + 1 < len(words) and words[i + 1][:1].isdigit()):
            number = _day_number(words, i + 1)
            if number:
                end = i + 1 + number[1]
                month = None
                if end + 1 < len(words) and words[end] == "of":
                    month = _month_at(words, end + 1)
                found = _future_date(today, month, number[0])
                if found:
                    return found, set(range(i, end + (2 if month else 0)))
    if "tomorrow" in words:
        return today + timedelta(days=1), {words.index("tomorrow")}
    if "today" in words or "tonight" in words:
        return today, {words.index("today" if "today" in words else "tonight")}
    for i, w in enumerate(words):
        if i > 0 and words[i - 1] == "not":
            continue  # "not Wednesday, Thursday"
        if w in WEEKDAY_WORDS or (w.endswith("s") and w[:-1] in WEEKDAY_WORDS):
            weekday = WEEKDAY_WORDS.index(w.rstrip("s") if w not in WEEKDAY_WORDS else w)
            this = i > 0 and words[i - 1] == "this"
            return _next_weekday(today, weekday, allow_today=this), {i}
    return None


def parse_day(words: list[str], today: date) -> date | None:
    """A date from "today", "tomorrow", "monday", "next friday", "december third", "the 5th"."""
    found = find_day(words, today)
    return found[0] if found else None


def part_of_day(words: list[str]) -> str | None:
    """ "morning", "afternoon" or "evening" when the caller named a part of the day."""
    for w in words:
        if w in _PART_WORDS:
            return _PART_WORDS[w]
    return None


def _meridiem_after(words: list[str], j: int) -> str | None:
    if j < len(words) and words[j] in _MERIDIEM:
        return _MERIDIEM[words[j]]
    if j + 1 < len(words) and words[j] in ("a", "p") and words[j + 1] in ("m", "m."):
        return "am" if words[j] == "a" else "pm"
    after = " ".join(words[j : j + 3])
    if after == "in the morning":
        return "am"
    if after in ("in the afternoon", "in the evening", "at night"):
        return "pm"
    return None


def _minutes_before(words: list[str], i: int) -> tuple[int, int] | None:
    """(minutes, sign) for "half past", "quarter to", "ten past" ending just before words[i]."""
    if i < 2 or words[i - 1] not in ("past", "after", "to", "till", "of"):
        return None
    sign = 1 if words[i - 1] in ("past", "after") else -1
    word = words[i - 2]
    if word in _FRACTIONS:
        if word == "half" and sign < 0:
            return None
        return _FRACTIONS[word], sign
    if word == "minutes" and i >= 3:
        word = words[i - 3]
    minutes, _ = parse_number([word], 0)
    if minutes is not None and minutes in (5, 10, 20, 25):
        return minutes, sign
    return None


def parse_time(words: list[str], *, expecting: bool) -> time | None:
    """A clock time from "10:30", "ten thirty a.m.", "2 pm", "noon", "half past two".

    Bare numbers count only after "at"/"around" or when a time was just asked for, so
    "the third" or a phone number is not taken for a time. Without a.m./p.m. an hour before
    eight is taken as the afternoon, as a receptionist would.
    """
    if "noon" in words or "midday" in words:
        return time(12, 0)
    for i in range(len(words)):
        hour, used = parse_number(words, i)
        if hour is None or not 1 <= hour <= 12 or (i > 0 and words[i - 1] in ("number", "not")):
            continue
        j = i + used
        if j < len(words) and words[j] in ("past", "to", "till", "after"):
            nxt, _ = parse_number(words, j + 1)
            if nxt is not None and 1 <= nxt <= 12:
                continue  # "ten to three": the minutes of the hour that follows
        minute, has_minute = 0, False
        before = _minutes_before(words, i)
        if before is not None:
            minute, has_minute = before[0], True
            if before[1] < 0:
                hour, minute = (hour - 1) or 12, 60 - minute
        elif j < len(words) and words[j] == "oh":
            m, u = parse_number(words, j + 1)
            if m is not None and m < 10:
                minute, has_minute, j = m, True, j + 1 + u
        else:
            m, u = parse_number(words, j)
            if m is not None and 10 <= m <= 59:
                minute, has_minute, j = m, True, j + u
            elif m == 0 and j < len(words) and words[j] == "00":
                has_minute, j = True, j + 1
        meridiem = _meridiem_after(words, j)
        oclock = j < len(words) and words[j] in ("o'clock", "oclock")
        cued = i > 0 and words[i - 1] in _CUES
        if not (meridiem or has_minute or oclock or cued or expecting):
            continue
        if meridiem == "pm" and hour != 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        elif meridiem is None and hour < 8:
            hour += 12
        return time(hour, minute)
    return None


def in_part(t: time, part: str | None) -> bool:
    """Whether a time lies in the part of the day (always, when no part was named)."""
    if part is None:
        return True
    start, end = PARTS_OF_DAY[part]
    return start <= t.hour < end

"""Numbers, times and dates as callers say them, both directions, shared by the LM and the brain."""

from __future__ import annotations

import re

from num2words import num2words


def _as_said(words: str) -> str:
    """num2words' spelling as callers (and the pronunciation dictionary) have it.

    num2words writes "forty-five" and the British "one hundred and five"; the CMU dictionary
    has no hyphenated words, and the demo's lines and corpus say "one hundred five".
    """
    return words.replace("-", " ").replace(",", "").replace(" and ", " ")


# Word -> value tables for reading numbers back (num2words only writes them).
WORD_VALUES: dict[str, int] = {num2words(n): n for n in [*range(20), *range(20, 100, 10)]}
WORD_VALUES["oh"] = 0
ORDINAL_VALUES: dict[str, int] = {num2words(n, to="ordinal"): n for n in [*range(1, 20), 20, 30]}

WEEKDAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_WORDS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def number_words(n: int) -> str:
    """A cardinal as said aloud: 45 -> "forty five", 105 -> "one hundred five"."""
    if n < 0:
        raise ValueError(f"{n} out of range")
    return _as_said(num2words(n))


def ordinal_words(n: int) -> str:
    """1..31 as an ordinal ("twenty first"), for dates."""
    if not 1 <= n <= 31:
        raise ValueError(f"{n} is not a day of the month")
    return _as_said(num2words(n, to="ordinal"))


def time_words(hour: int, minute: int, *, with_meridiem: bool = True) -> str:
    """A 24 h time as said aloud: 14:30 -> "two thirty p.m.", 12:00 -> "noon"."""
    if hour == 12 and minute == 0:
        return "noon"
    h12 = hour % 12 or 12
    text = number_words(h12)
    if minute:
        text += " oh " + number_words(minute) if minute < 10 else " " + number_words(minute)
    if with_meridiem:
        text += " a.m." if hour < 12 else " p.m."
    return text


def money_words(price: str) -> str:
    """ "$90" -> "ninety dollars"; other strings come back with their digits spelled."""
    match = re.fullmatch(r"\s*\$\s*(\d{1,3})(?:\.00)?\s*", price)
    if match:
        return f"{number_words(int(match.group(1)))} dollars"
    return re.sub(r"\d{1,3}", lambda m: number_words(int(m.group(0))), price.replace("$", ""))


def parse_number(words: list[str], start: int) -> tuple[int | None, int]:
    """Read a cardinal at words[start:] ("forty five", "12"); returns (value, words used).

    Ours, not a library's: num2words only writes numbers, and a caller's numbers here are
    small (clock times, days, phone digits), read from the tables above.
    """
    if start >= len(words):
        return None, 0
    first = words[start]
    if first.isdigit():
        return int(first), 1
    if first not in WORD_VALUES or first == "oh":
        return None, 0
    value = WORD_VALUES[first]
    used = 1
    if 20 <= value <= 90 and start + 1 < len(words):
        nxt = words[start + 1]
        if nxt in WORD_VALUES and 0 < WORD_VALUES[nxt] < 10:
            value += WORD_VALUES[nxt]
            used = 2
    return value, used

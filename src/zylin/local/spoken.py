"""Numbers, times and dates as callers say them, both directions, shared by the LM and the brain."""

from __future__ import annotations

import re

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_ONES = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}

WORD_VALUES: dict[str, int] = {w: i for i, w in enumerate(_ONES)}
WORD_VALUES.update({w: i * 10 for i, w in enumerate(_TENS) if w != "_"})
WORD_VALUES["oh"] = 0
ORDINAL_VALUES: dict[str, int] = {w: i for i, w in enumerate(_ORDINAL_ONES) if i}
ORDINAL_VALUES.update(_ORDINAL_TENS)

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
    """0..999 as words ("forty five"), the way eSpeak and callers say them."""
    if n < 0 or n > 999:
        raise ValueError(f"{n} out of range")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    hundreds, rest = divmod(n, 100)
    head = f"{_ONES[hundreds]} hundred"
    return head if rest == 0 else f"{head} {number_words(rest)}"


def ordinal_words(n: int) -> str:
    """1..31 as an ordinal ("twenty first"), for dates."""
    if 1 <= n < 20:
        return _ORDINAL_ONES[n]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return {2: "twentieth", 3: "thirtieth"}[tens]
    return f"{_TENS[tens]} {_ORDINAL_ONES[ones]}"


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
    """Read a cardinal at words[start:] ("forty five", "12"); returns (value, words used)."""
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

"""Reads a caller turn (typed, Deepgram or pocketsphinx text) into an intent and slot values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from zylin.business.profile import BusinessProfile
from zylin.local.demo_names import parse_name
from zylin.local.spoken import (
    MONTH_WORDS,
    ORDINAL_VALUES,
    WEEKDAY_WORDS,
    WORD_VALUES,
    parse_number,
)

_DIGIT_WORDS = {w: str(v) for w, v in WORD_VALUES.items() if v < 10}
_MERIDIEM = {"am": "am", "a.m.": "am", "a.m": "am", "pm": "pm", "p.m.": "pm", "p.m": "pm"}

# Intent cues, checked in this order; the first that matches wins.
_INTENT_CUES: list[tuple[str, tuple[str, ...]]] = [
    (
        "human",
        (
            "human",
            "real person",
            "a person",
            "someone",
            "somebody",
            "owner",
            "manager",
            "operator",
            "representative",
            "transfer",
            "speak to the",
            "talk to the",
        ),
    ),
    ("cancel", ("cancel",)),
    (
        "reschedule",
        (
            "reschedule",
            "move my",
            "move it",
            "change my appointment",
            "change the time",
            "different time",
            "another time",
        ),
    ),
    ("message", ("message", "call me back", "callback", "call back")),
    (
        "end",
        (
            "bye",
            "goodbye",
            "that's all",
            "that is all",
            "that's it",
            "that will be all",
            "nothing else",
            "all set",
            "no thank",
            "no thanks",
            "no that's",
        ),
    ),
    (
        "book",
        (
            "book",
            "appointment",
            "schedule",
            "come in",
            "make a",
            "reserve",
            "get a ",
            "need a ",
            "like a ",
            "want a ",
            "slot",
        ),
    ),
]
_INFO_CUES: list[tuple[str, tuple[str, ...]]] = [
    ("price", ("how much", "price", "cost", "charge", "dollars")),
    ("duration", ("how long",)),
    ("hours", ("hours", "open", "close", "closing")),
    ("services", ("services", "what do you offer", "what do you do", "offer", "what kind")),
    ("greeting", ("hello", "hi ", "good morning", "good afternoon", "hey")),
]
_THIS_NUMBER = (
    "this number",
    "same number",
    "calling from",
    "my number",
    "this one",
    "this phone",
    "same one",
    "you have it",
    "caller id",
)
_STOPWORDS = set(
    [
        "a",
        "an",
        "the",
        "do",
        "does",
        "you",
        "your",
        "i",
        "is",
        "are",
        "to",
        "of",
        "for",
        "on",
        "in",
        "at",
        "it",
        "we",
        "my",
        "me",
        "can",
        "what",
        "how",
        "there",
        "any",
        "have",
        "has",
        "be",
    ]
)


@dataclass
class Utterance:
    """What one caller turn said: an intent, info questions, and any slot values."""

    text: str
    words: list[str]
    intent: str | None = None
    info: list[str] = field(default_factory=list)
    yes: bool = False
    no: bool = False
    service: str | None = None
    day: date | None = None
    time: time | None = None
    name: str | None = None
    phone: str | None = None
    this_number: bool = False
    faq_answer: str | None = None
    message: str | None = None
    ordinal: int | None = None


def tokenize(text: str) -> list[str]:
    """Lower-case words; keeps "a.m.", "10:30" split into "10" "30", and apostrophes."""
    text = text.lower()
    text = re.sub(r"(\d{1,2}):(\d{2})", r"\1 \2", text)
    text = re.sub(r"(\d)(am|pm|a\.m\.|p\.m\.)", r"\1 \2", text)
    return re.findall(r"[ap]\.m\.?|\d+(?:st|nd|rd|th)?|[a-z][a-z']*", text)


def _has(text: str, cue: str) -> bool:
    if cue.endswith(" ") or cue.startswith(" "):
        return cue in f" {text} "
    return re.search(rf"\b{re.escape(cue)}\b", text) is not None


def match_service(words: list[str], profile: BusinessProfile) -> str | None:
    """The profile service named in the words (plurals allowed), or None."""
    plain = {w.rstrip("s") for w in words} | set(words)
    for service in profile.services:
        parts = tokenize(service.name)
        if parts and all(p in plain or p.rstrip("s") in plain for p in parts):
            return service.name
    return None


def _next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after today ("Monday" said on a Monday means a week later)."""
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def parse_day(words: list[str], today: date) -> date | None:
    """A date from "today", "tomorrow", "monday", "next friday", "december third", "the 5th"."""
    text = " ".join(words)
    if "day after tomorrow" in text:
        return today + timedelta(days=2)
    if "tomorrow" in words:
        return today + timedelta(days=1)
    if "today" in words:
        return today
    for w in words:
        if w in WEEKDAY_WORDS:
            return _next_weekday(today, WEEKDAY_WORDS.index(w))
    month: int | None = None
    for i, w in enumerate(words):
        if w in MONTH_WORDS and not (w == "may" and (i == 0 or words[i - 1] in ("i", "we"))):
            month = MONTH_WORDS.index(w) + 1
            day = _day_number(words, i + 1)
            if day:
                return _future_date(today, month, day)
    for i, w in enumerate(words):
        if w == "the":
            day = _day_number(words, i + 1)
            if day:
                return _future_date(today, None, day)
    return None


def _day_number(words: list[str], i: int) -> int | None:
    if i >= len(words):
        return None
    w = words[i]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", w)
    if m:
        n = int(m.group(1))
        return n if 1 <= n <= 31 else None
    if w in ORDINAL_VALUES:
        return ORDINAL_VALUES[w]
    if w in ("twenty", "thirty") and i + 1 < len(words) and words[i + 1] in ORDINAL_VALUES:
        n = WORD_VALUES[w] + ORDINAL_VALUES[words[i + 1]]
        return n if n <= 31 else None
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
            candidate = date(year, mon, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return None


def parse_time(words: list[str], *, expecting: bool) -> time | None:
    """A clock time from "10:30", "ten thirty a.m.", "2 pm", "noon", "at three o'clock".

    Bare numbers count only after "at"/"around" or when a time was just asked for, so
    "the third" or a phone number is not taken for a time.
    """
    if "noon" in words or "midday" in words:
        return time(12, 0)
    for i in range(len(words)):
        hour, used = parse_number(words, i)
        if hour is None or not 1 <= hour <= 12:
            continue
        j = i + used
        minute = 0
        has_minute = False
        if j < len(words) and words[j] == "oh":
            m, u = parse_number(words, j + 1)
            if m is not None and m < 10:
                minute, has_minute, j = m, True, j + 1 + u
        else:
            m, u = parse_number(words, j)
            if m is not None and 10 <= m <= 59:
                minute, has_minute, j = m, True, j + u
            elif m == 0 and j < len(words) and words[j] == "00":
                has_minute, j = True, j + 1
        meridiem = None
        if j < len(words) and words[j] in _MERIDIEM:
            meridiem = _MERIDIEM[words[j]]
        elif j + 1 < len(words) and words[j] in ("a", "p") and words[j + 1] in ("m", "m."):
            meridiem = "am" if words[j] == "a" else "pm"
        elif " ".join(words[j : j + 3]) in ("in the morning",):
            meridiem = "am"
        elif " ".join(words[j : j + 3]) in ("in the afternoon", "in the evening"):
            meridiem = "pm"
        oclock = j < len(words) and words[j] == "o'clock"
        cued = i > 0 and words[i - 1] in ("at", "around", "about", "by")
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


def parse_phone(words: list[str]) -> str | None:
    """A run of at least 7 digits, spoken ("five five five ...") or written."""
    digits = ""
    best = ""
    for w in words:
        if w.isdigit():
            digits += w
        elif w in _DIGIT_WORDS or w == "oh":
            digits += _DIGIT_WORDS.get(w, "0")
        elif w in ("double",):
            continue
        else:
            best = max(best, digits, key=len)
            digits = ""
    best = max(best, digits, key=len)
    return best if len(best) >= 7 else None


def match_faq(words: list[str], profile: BusinessProfile) -> str | None:
    """The FAQ answer whose question shares the most content words with the utterance."""
    said = {w.rstrip("s") for w in words if w not in _STOPWORDS}
    best, best_score = None, 0.0
    for faq in profile.faq:
        asked = {w.rstrip("s") for w in tokenize(faq.q) if w not in _STOPWORDS}
        if not asked:
            continue
        overlap = len(said & asked)
        score = overlap / len(asked)
        if overlap and score > best_score:
            best, best_score = faq.a, score
    return best if best_score >= 0.5 else None


def understand(
    text: str, profile: BusinessProfile, now: datetime, *, awaiting: str | None
) -> Utterance:
    """Read one caller turn; `awaiting` (the slot just asked for) decides bare answers."""
    words = tokenize(text)
    joined = " ".join(words)
    u = Utterance(text=text, words=words)
    today = profile.local_now(now).date()
    for intent, cues in _INTENT_CUES:
        if any(_has(joined, c) for c in cues):
            u.intent = intent
            break
    if u.intent == "human" and awaiting in ("name", "message"):
        u.intent = None  # "tell the owner I called" is a message, not a transfer request
    for info, cues in _INFO_CUES:
        if any(_has(joined, c) for c in cues):
            u.info.append(info)
    u.yes = bool(words) and words[0] in ("yes", "yeah", "yep", "sure", "correct", "right", "okay")
    u.no = bool(words) and words[0] in ("no", "nope", "nah")
    u.service = match_service(words, profile)
    u.day = parse_day(words, today)
    if awaiting != "phone":
        u.time = parse_time(words, expecting=awaiting in ("time", "new_time"))
    u.phone = parse_phone(words)
    u.this_number = any(_has(joined, c) for c in _THIS_NUMBER) and u.phone is None
    if not (u.no and len(words) == 1):
        u.name = parse_name(text, bare=awaiting == "name")
    if not u.intent and not u.info:
        u.faq_answer = match_faq(words, profile)
    for w in words:
        if w in ("first", "second", "third", "last"):
            u.ordinal = {"first": 1, "second": 2, "third": 3, "last": -1}[w]
    tell = re.search(r"\btell (?:him|her|them|the owner|the doctor)(?: that)? (.+)", text, re.I)
    if tell:
        u.message = tell.group(1).strip()
    return u

"""Reads a caller turn (typed, Deepgram or pocketsphinx text) into an intent and slot values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from zylin.business.profile import BusinessProfile
from zylin.local.demo_names import parse_name
from zylin.local.demo_when import find_day, parse_day, parse_time, part_of_day
from zylin.local.demo_yes_no import says_never_mind, says_no, says_yes
from zylin.local.spoken import WORD_VALUES

__all__ = ["Utterance", "parse_day", "parse_name", "parse_time", "tokenize", "understand"]

_DIGIT_WORDS = {w: str(v) for w, v in WORD_VALUES.items() if v < 10}

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
    part: str | None = None
    name: str | None = None
    phone: str | None = None
    this_number: bool = False
    faq_answer: str | None = None
    message: str | None = None
    ordinal: int | None = None
    never_mind: bool = False

    @property
    def changes(self) -> bool:
        """Whether the turn gives a slot value (a correction, when a read-back was heard)."""
        return bool(self.service or self.day or self.time or self.part or self.name)


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


def _name(text: str, awaiting: str | None) -> str | None:
    """The caller's name; after a read-back only with a cue ("the name is Priya")."""
    if awaiting == "confirm":
        rest = re.sub(r"^\W*(?:no|nope|actually|sorry)\b\W*", "", text, flags=re.I)
        return parse_name(rest, bare=False, opening=True)
    return parse_name(text, bare=awaiting == "name")


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
    if awaiting == "confirm" and u.intent not in (None, "human"):
        if u.intent == "end" and _has(joined, "bye"):
            pass  # "no, that's all, bye" still ends the call
        else:
            u.intent = None  # "no, that's wrong" or "a different time" correct the read-back
    u.yes, u.no = says_yes(words), says_no(words)
    u.never_mind = says_never_mind(words)
    u.service = match_service(words, profile)
    found = find_day(words, today)
    spare = list(words)
    if found:
        u.day = found[0]
        spare = ["" if i in found[1] else w for i, w in enumerate(words)]
    if awaiting != "phone":
        expecting = awaiting in ("time", "new_time", "confirm")
        u.time = parse_time(spare, expecting=expecting)
        u.part = part_of_day(words) if u.time is None else None
    u.phone = parse_phone(words)
    u.this_number = any(_has(joined, c) for c in _THIS_NUMBER) and u.phone is None
    if not (u.no and len(words) == 1):
        u.name = _name(text, awaiting)
    if not u.intent and not u.info:
        u.faq_answer = match_faq(words, profile)
    for w in words:
        if w in ("first", "second", "third", "last"):
            u.ordinal = {"first": 1, "second": 2, "third": 3, "last": -1}[w]
    tell = re.search(r"\btell (?:him|her|them|the owner|the doctor)(?: that)? (.+)", text, re.I)
    if tell:
        u.message = tell.group(1).strip()
    return u

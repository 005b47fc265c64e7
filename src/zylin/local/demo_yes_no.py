"""Yes, no and "never mind" as callers say them, read from a turn's lower-case words."""

from __future__ import annotations

import re

_LEAD_FILLERS = frozenset(("oh", "um", "uh", "er", "erm", "well", "hmm", "hm", "so", "ah", "and"))
_YES_WORDS = frozenset(
    (
        "yes",
        "yeah",
        "yep",
        "yup",
        "ya",
        "sure",
        "correct",
        "right",
        "okay",
        "ok",
        "alright",
        "absolutely",
        "definitely",
        "certainly",
        "perfect",
        "great",
        "fine",
        "exactly",
        "lovely",
        "excellent",
        "brilliant",
    )
)
_YES_PHRASES = (
    "sounds good",
    "sounds right",
    "sounds great",
    "sounds fine",
    "sounds perfect",
    "that's right",
    "that is right",
    "that's correct",
    "that is correct",
    "that's fine",
    "that is fine",
    "that's good",
    "that's perfect",
    "that works",
    "works for me",
    "fine by me",
    "go ahead",
    "please do",
    "do it",
    "book it",
    "of course",
    "uh huh",
    "all right",
    "i do",
    "you got it",
)
_NO_WORDS = frozenset(("no", "nope", "nah", "wrong", "incorrect", "actually", "wait"))
_NO_PHRASES = (
    "not right",
    "not quite",
    "not correct",
    "that's wrong",
    "that is wrong",
    "i said",
    "i meant",
    "i mean",
    "not that",
    "change it",
    "change the",
    "make it",
    "instead",
)
_NEVER_MIND = (
    "never mind",
    "nevermind",
    "forget it",
    "forget about it",
    "don't book",
    "do not book",
    "don't cancel",
    "do not cancel",
    "don't move",
    "leave it",
    "keep it",
)


def _has(joined: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", joined) is not None


def _first_word(words: list[str]) -> str:
    for w in words:
        if w not in _LEAD_FILLERS:
            return w
    return ""


def says_no(words: list[str]) -> bool:
    """A "no", or a correction's cue ("actually", "I said", "make it")."""
    joined = " ".join(words)
    return _first_word(words) in _NO_WORDS or any(_has(joined, p) for p in _NO_PHRASES)


def says_yes(words: list[str]) -> bool:
    """A "yes" in any of its forms ("yeah that's fine", "sounds good", "go ahead")."""
    if says_no(words):
        return False
    joined = " ".join(words)
    return _first_word(words) in _YES_WORDS or any(_has(joined, p) for p in _YES_PHRASES)


def says_never_mind(words: list[str]) -> bool:
    """The caller drops what was being done ("never mind", "forget it", "keep it")."""
    joined = " ".join(words)
    return any(_has(joined, p) for p in _NEVER_MIND)

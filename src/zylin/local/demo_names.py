"""A caller's name from one turn: the words after "my name is", "this is", or a bare name."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_FILLERS = frozenset(
    ("yes", "yeah", "sure", "okay", "ok", "um", "uh", "hi", "hello", "hey", "so", "well", "oh")
)
_NOT_NAMES = frozenset(("and", "the", "a", "calling", "here", "speaking"))
# Words that start no name: "it's eleven", "this is for a checkup", "it's Monday".
_NOT_A_NAME_START = frozenset(
    (
        *("for", "at", "on", "in", "to", "about", "not", "fine", "good", "right", "correct"),
        *("wrong", "ok", "okay", "sure", "yes", "no", "me", "my", "it", "that", "just", "so"),
        *("tomorrow", "today", "tonight", "morning", "afternoon", "evening", "noon", "next"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
        *("eleven", "twelve", "half", "quarter", "calling", "booking", "looking", "going"),
        *("i", "we", "you", "he", "she", "they", "there", "what", "when", "how", "can", "do"),
    )
)
# Cues that introduce a name wherever they are said: "okay so my name is Ann".
_INTRO_CUES: tuple[tuple[str, ...], ...] = (
    ("my", "name", "is"),
    ("my", "name's"),
    ("name", "is"),
    ("this", "is"),
    ("under", "the", "name", "of"),
    ("under", "the", "name"),
    ("put", "it", "under"),
    ("put", "me", "under"),
    ("put", "me", "down", "as"),
)
# Cues that count only at the start (after fillers), longest first. The recognizer often
# drops a word of "my name is": "my name Ann", "my Ann", "name Ann".
_OPENING_CUES: tuple[tuple[str, ...], ...] = (
    ("i", "am", "called"),
    ("under",),
    *_INTRO_CUES,
    ("name's",),
    ("it", "is"),
    ("it's",),
    ("i'm",),
    ("i", "am"),
    ("call", "me"),
    ("my", "name"),
    ("my",),
    ("name",),
)
# Cues that mark a name only when one was asked for (a misheard "my name is").
_WEAK_CUES = frozenset((("my", "name"), ("my",), ("name",)))
_MAX_NAME_WORDS = 4
# Words that end a name: "this is Jamie Fox, can I book...", "it's Ann and I'd like...".
_NAME_ENDS = _NOT_A_NAME_START | frozenset(
    ("and", "would", "could", "want", "wanted", "like", "need", "book", "i'd", "i'm", "i'll")
)


def _words_without_courtesies(text: str) -> list[str]:
    """The text's words, as said, minus "please", "thanks" and "thank you"."""
    words = _WORD.findall(text)
    kept: list[str] = []
    i = 0
    while i < len(words):
        low = words[i].lower()
        if low in ("please", "thanks"):
            i += 1
        elif low == "thank" and i + 1 < len(words) and words[i + 1].lower() == "you":
            i += 2
        else:
            kept.append(words[i])
            i += 1
    return kept


def _join_spelled(words: list[str]) -> list[str]:
    """Letters spelled one by one ("R O B E R T") joined into the word they spell."""
    out: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1 and w.isalpha():
            run.append(w)
            continue
        out.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if w:
            out.append(w)
    return out


def _after_intro_cue(lower: list[str]) -> int | None:
    """Index of the first word after the first intro cue, or None when there is none."""
    for i in range(len(lower)):
        for cue in _INTRO_CUES:
            if tuple(lower[i : i + len(cue)]) == cue:
                return i + len(cue)
    return None


def _after_opening(lower: list[str]) -> tuple[int, bool]:
    """Index of the first word after the leading fillers and an opening cue; was there a cue."""
    i = 0
    while i < len(lower) and lower[i] in _FILLERS:
        i += 1
    for cue in _OPENING_CUES:
        if tuple(lower[i : i + len(cue)]) == cue:
            return i + len(cue), cue not in _WEAK_CUES
    return i, False


def parse_name(text: str, *, bare: bool = True, opening: bool = False) -> str | None:
    """A caller's name from "my name is Ann Lee", "okay so this is Ann", or a bare "Ann Lee".

    Works on words throughout, so a cue found anywhere in the turn marks where the name
    starts in the same words it is read from.

    Args:
        text: The caller's turn as transcribed.
        bare: Whether a turn without an intro cue may be a name (when a name was asked for).
        opening: Whether, without `bare`, an opening cue ("it's", "I'm") may start a name.

    Returns:
        The name, each word capitalised, at most four words; None when there is none.
    """
    words = _join_spelled(_words_without_courtesies(text))
    lower = [w.lower() for w in words]
    start = _after_intro_cue(lower)
    if start is None:
        if not (bare or opening):
            return None
        start, cued = _after_opening(lower)
        if not (bare or cued):
            return None
    while start < len(words) and lower[start] in _NOT_NAMES:
        start += 1
    if start >= len(words) or lower[start] in _NOT_A_NAME_START:
        return None
    parts: list[str] = [words[start]]
    for word in words[start + 1 :]:
        if word.lower() in _NAME_ENDS or len(parts) == _MAX_NAME_WORDS:
            break
        if word.lower() not in _NOT_NAMES:
            parts.append(word)
    return " ".join(p[:1].upper() + p[1:].lower() for p in parts)

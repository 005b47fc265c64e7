"""What callers asked that Zylin could not answer from the profile, read from the transcripts:
a caller's line that Zylin met with "I don't know" or an offer to take a message instead.
Grouped by similar wording, so the owner sees each gap once, counted."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from zylin.storage.repository import CallDetail

# Zylin's reply says it does not know (or cannot say), or it offers a message instead.
_NOT_KNOWN = re.compile(
    r"\b("
    r"i (?:do not|don't|dont) (?:know|have (?:that|this|any|the) (?:information|info|detail))"
    r"|i'?m not (?:sure|certain)|i am not (?:sure|certain)"
    r"|(?:do not|don't) have (?:that|this|any|the) (?:information|info|details?)"
    r"|(?:isn't|is not|not) (?:something )?(?:in|on) (?:my|the) (?:information|list|notes)"
    r"|i can(?:'t|not| not) (?:answer|say|tell you)"
    r"|(?:take|leave) a message"
    # Spanish (languages: [en, es]).
    r"|no (?:lo )?sé|no estoy segur[oa]|no tengo (?:esa|esta|la) informaci[oó]n"
    r"|(?:tomar|dejar|tomarle) un mensaje"
    r")\b",
    re.IGNORECASE,
)
# The caller wanted a message or a person anyway: offering one is an answer, not a gap.
_WANTED_MESSAGE = re.compile(
    r"\b(message|call me back|call back|speak (?:to|with)|talk (?:to|with)|person|human|"
    r"someone|owner|manager|receptionist|mensaje|hablar con|persona|due[nñ]o)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w']+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "am",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "i",
        "you",
        "we",
        "they",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "and",
        "or",
        "but",
        "if",
        "so",
        "can",
        "could",
        "would",
        "will",
        "should",
        "may",
        "might",
        "my",
        "your",
        "our",
        "me",
        "us",
        "what",
        "whats",
        "when",
        "where",
        "which",
        "who",
        "how",
        "hi",
        "hello",
        "please",
        "thanks",
        "thank",
        "just",
        "there",
        "any",
        "have",
        "has",
        "had",
        "get",
        "got",
        "know",
        "tell",
        "about",
        "yes",
        "no",
        "okay",
        "ok",
        "um",
        "uh",
        "also",
    ]
)
SIMILAR = 0.5  # Jaccard similarity of content words that puts two questions in one group
MIN_WORDS = 2


@dataclass(frozen=True)
class Unanswered:
    """One caller line Zylin could not answer."""

    question: str
    call_id: int
    asked_at: datetime | None


@dataclass
class QuestionGroup:
    """Questions worded alike: the most common wording first, how often, and where."""

    wording: str
    words: frozenset[str]
    count: int = 0
    last_asked: datetime | None = None
    call_ids: list[int] = field(default_factory=list)
    wordings: dict[str, int] = field(default_factory=dict)

    def add(self, item: Unanswered) -> None:
        self.count += 1
        self.wordings[item.question] = self.wordings.get(item.question, 0) + 1
        self.wording = max(self.wordings, key=self.wordings.__getitem__)  # ties: the first
        if item.call_id not in self.call_ids:
            self.call_ids.append(item.call_id)
        if item.asked_at and (self.last_asked is None or item.asked_at > self.last_asked):
            self.last_asked = item.asked_at


def content_words(text: str) -> frozenset[str]:
    """The words that carry a question's meaning, lower-cased, plurals folded."""
    words = (w.strip("'") for w in _WORD.findall(text.lower()))
    return frozenset(_fold(w) for w in words if w and w not in _STOPWORDS)


def _fold(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def unanswered_in(detail: CallDetail) -> list[Unanswered]:
    """The caller lines of one call that Zylin answered with "I don't know" or a message offer."""
    found: list[Unanswered] = []
    last_user = None
    for turn in detail.turns:
        text = (turn.heard_text if turn.heard_text else turn.text) or ""
        if turn.role == "user":
            last_user = turn if text.strip() else last_user
            continue
        if turn.role != "assistant" or last_user is None or not _NOT_KNOWN.search(text):
            continue
        question = " ".join(last_user.text.split())
        if len(content_words(question)) >= MIN_WORDS and not _WANTED_MESSAGE.search(question):
            found.append(Unanswered(question, detail.call.id, last_user.started_at))
        last_user = None  # one gap per question, however many replies it took
    return found


def group_questions(items: Iterable[Unanswered], known: Iterable[str] = ()) -> list[QuestionGroup]:
    """Group alike questions, most asked first; those the FAQ now answers (`known`) are left
    out."""
    answered = [content_words(q) for q in known]
    groups: list[QuestionGroup] = []
    for item in items:
        words = content_words(item.question)
        if any(similarity(words, faq) >= SIMILAR for faq in answered):
            continue
        group = next((g for g in groups if similarity(words, g.words) >= SIMILAR), None)
        if group is None:
            group = QuestionGroup(wording=item.question, words=words)
            groups.append(group)
        group.add(item)
    return sorted(groups, key=lambda g: (-g.count, g.wording.lower()))

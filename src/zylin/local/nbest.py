"""N-best rescoring by what the dialog expects: prefer a hypothesis that answers the question.

pocketsphinx's best path is often one word off ("tomorrow at a morning"); a slightly less
likely hypothesis may hold the time or the "yes" that Zylin just asked for. Only the top few
are considered, so an answer is never invented from far down the list.
"""

from __future__ import annotations

from datetime import date

from zylin.local.demo_understanding import tokenize
from zylin.local.demo_when import find_day, parse_time, part_of_day
from zylin.local.demo_yes_no import says_no, says_yes

TOP = 5


def answer(expect: str | None, text: str) -> object:
    """The answer `text` gives to what was asked (a time, a day, "yes" or "no"), or None."""
    words = tokenize(text)
    if expect in ("time", "new_time"):
        return parse_time(words, expecting=True) or part_of_day(words)
    if expect in ("day", "new_day"):
        found = find_day(words, date.today())
        return found[0] if found else None
    if expect == "confirm":
        return "no" if says_no(words) else "yes" if says_yes(words) else None
    return None


def fit(expect: str | None, text: str) -> int:
    """How well `text` answers what was asked: 2 fully, 1 in part ("in the morning"), 0 not."""
    if expect not in ("time", "new_time", "day", "new_day", "confirm"):
        return 2
    given = answer(expect, text) if text else None
    if given is None:
        return 0
    return 1 if isinstance(given, str) and given in ("morning", "afternoon", "evening") else 2


def rescore(hypotheses: list[str], expect: str | None) -> int:
    """Index of the hypothesis to take: the best-ranked of those that fit best (else 0)."""
    scores = [fit(expect, text) for text in hypotheses[:TOP]]
    if not scores or max(scores) == 0:
        return 0
    return scores.index(max(scores))


def agreement(hypotheses: list[str], pick: int, expect: str | None) -> float:
    """Share of the top hypotheses that give the same answer as the one picked (0 if none).

    When nearly all of the n-best say "yes" (or the same hour), the answer is sure even if
    the words around it are not: "yeah lee" and "yeah please" agree.
    """
    top = hypotheses[:TOP]
    if not top or pick >= len(top):
        return 0.0
    given = answer(expect, top[pick])
    if given is None:
        return 0.0
    return sum(answer(expect, text) == given for text in top) / len(top)

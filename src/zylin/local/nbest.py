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


def fit(expect: str | None, text: str) -> int:
    """How well `text` answers what was asked: 2 fully, 1 in part ("in the morning"), 0 not."""
    words = tokenize(text)
    if expect in ("time", "new_time"):
        if parse_time(words, expecting=True) is not None:
            return 2
        return 1 if part_of_day(words) is not None else 0
    if expect in ("day", "new_day"):
        return 2 if find_day(words, date.today()) is not None else 0
    if expect == "confirm":
        return 2 if says_yes(words) or says_no(words) else 0
    return 2


def rescore(hypotheses: list[str], expect: str | None) -> int:
    """Index of the hypothesis to take: the best-ranked of those that fit best (else 0)."""
    scores = [fit(expect, text) if text else 0 for text in hypotheses[:TOP]]
    if not scores or max(scores) == 0:
        return 0
    return scores.index(max(scores))

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


def fits(expect: str | None, text: str) -> bool:
    """Whether `text` answers what was asked; any text fits when nothing particular was."""
    words = tokenize(text)
    if expect in ("time", "new_time"):
        return parse_time(words, expecting=True) is not None or part_of_day(words) is not None
    if expect in ("day", "new_day"):
        return find_day(words, date.today()) is not None
    if expect == "confirm":
        return says_yes(words) or says_no(words)
    return True


def rescore(hypotheses: list[str], expect: str | None) -> int:
    """Index of the hypothesis to take: the best one that fits, else the best one (0)."""
    for i, text in enumerate(hypotheses[:TOP]):
        if text and fits(expect, text):
            return i
    return 0

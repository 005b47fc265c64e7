"""What every load-benchmark caller says and what the fakes answer: one script for all calls.

Each line is a single sentence without inner full stops, so eSpeak speaks it as one utterance
and the fake TTS answers each reply as one utterance too.
"""

from __future__ import annotations

from typing import Any

from devtools.fakes.openai_script import Text, last_user_text

# (what the caller says, what Zylin's LLM answers); turn k uses entry k % len(TURNS).
# Every caller line was checked to stay ONE utterance for Zylin's VAD (Silero, stop_secs 0.2,
# after the phone line's 8 kHz mu-law) at 30 frame alignments: lines with a comma or a
# clause pause ("Hi, what ...") were sometimes cut in two, which shifts the script by a turn.
TURNS: tuple[tuple[str, str], ...] = (
    ("What are your opening hours on weekdays", "We are open from nine to five on weekdays."),
    ("Do you take new patients at the moment", "Yes, we are happy to welcome new patients."),
    ("Where can I park when I come in", "There is free parking right behind the building."),
    ("What does a regular cleaning cost", "A regular cleaning costs ninety five dollars."),
    ("Can my daughter come along to the same visit", "Of course, we see children of all ages."),
    ("Do you have anything early in the morning", "Our first slot of the day is at nine."),
)

# The measurement turn: a long line (several seconds of "listening" for every call at once)
# and a long reply (several seconds of "talking"), so both CPU windows are wide.
MEASURE_LINE = (
    "My name is Mary Anne Williams and I am calling to ask about a cleaning on Monday or "
    "Wednesday morning"
)
MEASURE_REPLY = (
    "Let me look at the calendar for next Tuesday afternoon and see which of our hygienists "
    "has an opening around three o'clock or a bit later for you"
)
FALLBACK_REPLY = "Sure, how can I help you today?"


def caller_lines(turns: int) -> list[str]:
    """The caller's scripted lines for `turns` turns (the list repeats past its end)."""
    return [TURNS[k % len(TURNS)][0] for k in range(turns)]


def transcripts(turns: int) -> list[str]:
    """What the fake Deepgram hears, in order, on every call: the turns, then the measure."""
    return [*caller_lines(turns), MEASURE_LINE]


def replies(turns: int) -> list[str]:
    """What the fake LLM answers on every call, in order."""
    return [_REPLIES[line] for line in transcripts(turns)]


def all_lines(turns: int) -> list[str]:
    """Every distinct line a caller speaks (to synthesize once before the run)."""
    return list(dict.fromkeys(transcripts(turns)))


_REPLIES = {line: reply for line, reply in TURNS} | {MEASURE_LINE: MEASURE_REPLY}


def brain(request: dict[str, Any]) -> Text:
    """The fake LLM's answer to the caller's last line (one sentence, no tool calls)."""
    return Text(_REPLIES.get(last_user_text(request).strip(), FALLBACK_REPLY))

"""What one simulated call of the load benchmark measured, read from its caller-side timeline.

Outgoing-audio gaps: Zylin sends a Twilio `mark` right after the last audio of each utterance
(`processors/playback_marks.py`, one per TTS stop; Pipecat queues it behind that audio), and
a `clear` drops the rest of an utterance on barge-in. So the bot `media` messages between two
such boundaries are one utterance's stream, and a pause between consecutive `media` arrivals
inside it is a gap: Zylin stopped feeding audio while it was speaking. The silence between
two utterances always has a mark (or a clear) in it and is never counted.

A send gap is heard only when Twilio's playback queue runs dry (Zylin sends a little ahead,
`AUDIO_SEND_AHEAD_MS`), so the caller's emulated playout also reports, per `media`, the
silence it heard before it: a heard gap is such a silence inside one utterance.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field
from itertools import pairwise

from devtools.bench.load_script import MEASURE_LINE
from devtools.caller import SimulatedCall

# Margins that keep the CPU windows clear of the turn's edges (the voice's first VAD
# frames, the reply's start-up and the last chunks).
LISTEN_MARGIN_SECS = (0.5, 0.2)
TALK_MARGIN_SECS = (0.3, 0.3)


@dataclass
class CallFigures:
    """One call's results; times of the windows are on the event loop's clock."""

    greeting_ms: float | None = None
    voice_to_voice_ms: list[float] = field(default_factory=list)
    unanswered: int = 0
    gaps_ms: list[float] = field(default_factory=list)
    heard_gaps_ms: list[float] = field(default_factory=list)
    # Of those, the ones in the measure turn's reply: every call's long reply at one moment.
    heard_gaps_in_measure_ms: list[float] = field(default_factory=list)
    listening: tuple[float, float] | None = None
    talking: tuple[float, float] | None = None


def utterances(arrivals: list[float], boundaries: list[float]) -> list[list[float]]:
    """Split media arrival times into utterances at each boundary (mark or clear) time."""
    bounds = sorted(boundaries)
    out: list[list[float]] = []
    current: list[float] = []
    j = 0
    for t in arrivals:
        crossed = False
        while j < len(bounds) and bounds[j] <= t:
            j += 1
            crossed = True
        if crossed and current:
            out.append(current)
            current = []
        current.append(t)
    if current:
        out.append(current)
    return out


def heard_gaps_at(
    arrivals: list[float], dry_secs: list[float], boundaries: list[float], over_ms: float
) -> list[tuple[float, float]]:
    """Silences longer than `over_ms` that the caller heard inside one utterance: (arrival of
    the media that ended it, ms)."""
    bounds = sorted(boundaries)
    return [
        (arrivals[i], dry_secs[i] * 1000)
        for i in range(1, len(arrivals))
        if dry_secs[i] * 1000 > over_ms
        and bisect.bisect_right(bounds, arrivals[i - 1]) == bisect.bisect_right(bounds, arrivals[i])
    ]


def gaps_within(arrivals: list[float], boundaries: list[float], over_ms: float) -> list[float]:
    """Pauses longer than `over_ms` between consecutive media of one utterance, in ms."""
    return [
        (b - a) * 1000
        for utterance in utterances(arrivals, boundaries)
        for a, b in pairwise(utterance)
        if (b - a) * 1000 > over_ms
    ]


def _reply_end(arrivals: list[float], boundaries: list[float], start: float) -> float | None:
    """Arrival of the last media of the utterance that starts at `start`."""
    for utterance in utterances(arrivals, boundaries):
        if utterance[0] <= start <= utterance[-1]:
            return utterance[-1]
    return None


def call_figures(
    call: SimulatedCall, turns: int, *, unanswered_ms: float, gap_over_ms: float
) -> CallFigures:
    """Everything the row needs from one call (a call that never connected answered nothing)."""
    figures = CallFigures(unanswered=turns)
    if not call.events:
        return figures
    origin = asyncio.get_running_loop().time() - call.now()
    arrivals = call.media_arrivals
    boundaries = [e.t for e in call.events if e.kind in ("mark", "clear")]
    figures.greeting_ms = None if call.first_audio_at is None else call.first_audio_at * 1000
    figures.gaps_ms = gaps_within(arrivals, boundaries, gap_over_ms)
    heard = heard_gaps_at(arrivals, call.media_dry_secs, boundaries, gap_over_ms)
    figures.heard_gaps_ms = [gap for _, gap in heard]
    scripted = [t for t in call.turns if t.label != MEASURE_LINE][:turns]
    answered = [
        t.voice_to_voice_ms
        for t in scripted
        if t.voice_to_voice_ms is not None and t.voice_to_voice_ms <= unanswered_ms
    ]
    figures.voice_to_voice_ms = answered
    figures.unanswered = turns - len(answered)
    measure = next((t for t in call.turns if t.label == MEASURE_LINE), None)
    if measure is None or measure.started_at is None or measure.last_voiced_at is None:
        return figures
    reply_at = measure.first_reply_at if measure.first_reply_at is not None else measure.started_at
    figures.heard_gaps_in_measure_ms = [gap for t, gap in heard if t > reply_at]
    figures.listening = (
        origin + measure.started_at + LISTEN_MARGIN_SECS[0],
        origin + measure.last_voiced_at - LISTEN_MARGIN_SECS[1],
    )
    if measure.first_reply_at is not None:
        end = _reply_end(arrivals, boundaries, measure.first_reply_at)
        if end is not None:
            figures.talking = (
                origin + measure.first_reply_at + TALK_MARGIN_SECS[0],
                origin + end - TALK_MARGIN_SECS[1],
            )
    return figures


def common_window(windows: list[tuple[float, float]]) -> tuple[float, float] | None:
    """The span every given call is inside at once (latest start to earliest end), if any."""
    if not windows:
        return None
    start = max(w[0] for w in windows)
    end = min(w[1] for w in windows)
    return (start, end) if end - start >= 0.3 else None

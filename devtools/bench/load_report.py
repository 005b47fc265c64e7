"""The load benchmark's result as one markdown table row (and the header that goes above it)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from devtools.bench.load_analysis import CallFigures

COLUMNS = (
    "calls",
    "stagger (s)",
    "latency",
    "workers",
    "v2v median (ms)",
    "v2v p95 (ms)",
    "v2v max (ms)",
    "unanswered turns",
    "greeting p95 (ms)",
    "gaps > 100 ms (count / largest)",
    "heard gaps > 100 ms (count / largest)",
    "CPU/call listening (% core)",
    "CPU/call talking (% core)",
    "memory/call (MiB)",
)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation, honest for small samples)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class LoadResult:
    """One run: its settings, every call's figures and the server's measured usage.

    CPU figures are per call in % of one core with the idle baseline already subtracted;
    None where the window could not be measured.
    """

    calls: int
    stagger: float
    latency: str
    workers: str
    turns: int
    figures: list[CallFigures] = field(default_factory=list)
    cpu_listening_pct: float | None = None
    cpu_talking_pct: float | None = None
    memory_mib: float | None = None

    @property
    def voice_to_voice_ms(self) -> list[float]:
        """Every answered turn's caller-side voice-to-voice, all calls."""
        return [v for f in self.figures for v in f.voice_to_voice_ms]

    @property
    def unanswered(self) -> int:
        """Scripted turns with no reply in time, including turns a failed call never spoke."""
        missing_calls = max(0, self.calls - len(self.figures))
        return sum(f.unanswered for f in self.figures) + missing_calls * self.turns

    @property
    def greetings_ms(self) -> list[float]:
        """Stream start -> first media, for calls that got a greeting."""
        return [f.greeting_ms for f in self.figures if f.greeting_ms is not None]

    @property
    def gaps_ms(self) -> list[float]:
        """Every outgoing-audio gap over the threshold, all calls."""
        return [g for f in self.figures for g in f.gaps_ms]

    @property
    def heard_gaps_ms(self) -> list[float]:
        """Every gap the callers heard (playback ran dry) over the threshold, all calls."""
        return [g for f in self.figures for g in f.heard_gaps_ms]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def header() -> str:
    """The table's header and separator lines."""
    return "| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS)


def row(result: LoadResult) -> str:
    """One markdown row with every column of `COLUMNS`."""
    v2v = result.voice_to_voice_ms
    greetings = result.greetings_ms
    missing = result.calls - len(greetings)
    greeting = _ms(percentile(greetings, 95) if greetings else None)
    if missing:
        greeting += f" ({missing} missing)"
    gaps, heard = result.gaps_ms, result.heard_gaps_ms
    cells = (
        str(result.calls),
        f"{result.stagger:g}",
        result.latency,
        result.workers,
        _ms(statistics.median(v2v) if v2v else None),
        _ms(percentile(v2v, 95) if v2v else None),
        _ms(max(v2v) if v2v else None),
        f"{result.unanswered} of {result.calls * result.turns}",
        greeting,
        f"{len(gaps)} / {max(gaps):.0f} ms" if gaps else "0 / -",
        f"{len(heard)} / {max(heard):.0f} ms" if heard else "0 / -",
        _num(result.cpu_listening_pct),
        _num(result.cpu_talking_pct),
        _num(result.memory_mib),
    )
    return "| " + " | ".join(cells) + " |"

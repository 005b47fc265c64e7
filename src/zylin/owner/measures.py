"""The success measures the business was promised, for any range of the business's days.

Calls are sorted into outcomes by explicit sets of end reasons, so a reason added later (for
example `screened`, a spam call turned away) counts as neither answered nor failed until it is
put in a set here: it shows under "other" and never spoils the failure rate.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from zylin.storage.repository import CallFacts, Repository

ANSWERED = frozenset(
    {
        "caller_hangup",
        "bot_ended",
        "transferred",
        "max_duration",
        "silence",
        "shutdown",
        "completed",
    }
)
FAILED = frozenset(
    {"error", "stream_flood", "legacy_error", "failed", "busy", "no_answer", "canceled"}
)
FALLBACK = frozenset(
    {"moved_to_legacy", "legacy_goodbye", "legacy_message", "legacy_no_input", "legacy_max_turns"}
)
BOOKING_INTENT = "booking"


def outcome(end_reason: str | None) -> str:
    """answered / failed / fallback, or other (in progress, screened, anything not listed)."""
    if end_reason in ANSWERED:
        return "answered"
    if end_reason in FAILED:
        return "failed"
    if end_reason in FALLBACK:
        return "fallback"
    return "other"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p95: `share=0.95`); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Targets:
    """The lines the charts draw: the voice-to-voice budget and the cost of a 2-minute call."""

    voice_to_voice_ms: float
    cost_per_2min_usd: float


@dataclass(frozen=True)
class Facts:
    """Everything the measures read for a range, loaded once."""

    calls: list[CallFacts]
    latencies: list[tuple[datetime, float]]
    transfers: list[datetime]
    messages: list[datetime]


async def load_facts(repository: Repository, start: datetime, end: datetime) -> Facts:
    """The range's calls, reply latencies, transfers and messages."""
    return Facts(
        calls=await repository.call_facts(start, end),
        latencies=await repository.reply_latencies(start, end),
        transfers=await repository.transfer_times(start, end),
        messages=await repository.message_times(start, end),
    )


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _figures(facts: Facts, targets: Targets) -> dict[str, Any]:
    outcomes = Counter(outcome(c.end_reason) for c in facts.calls)
    v2v = [ms for _at, ms in facts.latencies]
    booking = [c for c in facts.calls if c.intent == BOOKING_INTENT]
    booked = sum(1 for c in booking if c.booked)
    priced = [c for c in facts.calls if c.cost_usd is not None and c.ended_at is not None]
    total = sum(c.cost_usd or 0.0 for c in priced)
    minutes = sum((c.ended_at - c.started_at).total_seconds() for c in priced if c.ended_at) / 60
    return {
        "calls": {
            "total": len(facts.calls),
            "answered": outcomes["answered"],
            "failed": outcomes["failed"],
            "fallback": outcomes["fallback"],
            "other": outcomes["other"],
            "by_end_reason": dict(Counter(c.end_reason or "in_progress" for c in facts.calls)),
        },
        "latency": {
            "replies": len(v2v),
            "avg_ms": _round(fmean(v2v)) if v2v else None,
            "p95_ms": _round(percentile(v2v, 0.95)),
            "target_ms": targets.voice_to_voice_ms,
            "over_target": sum(1 for ms in v2v if ms > targets.voice_to_voice_ms),
        },
        "booking": {
            "calls": len(booking),
            "booked": booked,
            "completion": round(booked / len(booking), 3) if booking else None,
        },
        "transfers": len(facts.transfers),
        "messages": len(facts.messages),
        "cost": {
            "calls_priced": len(priced),
            "total_usd": round(total, 4),
            "per_call_usd": round(total / len(priced), 4) if priced else None,
            "minutes": round(minutes, 1),
            "per_2min_usd": round(total / minutes * 2, 4) if minutes > 0 else None,
            "target_per_2min_usd": targets.cost_per_2min_usd,
        },
    }


def _day_of(tz: ZoneInfo):
    return lambda moment: moment.astimezone(tz).date()


def measures(
    facts: Facts, first: date, last: date, tz: ZoneInfo, targets: Targets
) -> dict[str, Any]:
    """The figures for the local days [first, last], in all and day by day (for the charts)."""

    def day(moment: datetime) -> date:
        return moment.astimezone(tz).date()

    calls: dict[date, list[CallFacts]] = defaultdict(list)
    latencies: dict[date, list[tuple[datetime, float]]] = defaultdict(list)
    transfers: dict[date, list[datetime]] = defaultdict(list)
    messages: dict[date, list[datetime]] = defaultdict(list)
    for c in facts.calls:
        calls[day(c.started_at)].append(c)
    for item in facts.latencies:
        latencies[day(item[0])].append(item)
    for at in facts.transfers:
        transfers[day(at)].append(at)
    for at in facts.messages:
        messages[day(at)].append(at)
    by_day = []
    for n in range((last - first).days + 1):
        d = first + timedelta(days=n)
        one = _figures(Facts(calls[d], latencies[d], transfers[d], messages[d]), targets)
        by_day.append({"date": d.isoformat(), **one})
    return {
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "timezone": str(tz),
        **_figures(facts, targets),
        "by_day": by_day,
    }

"""Query parsing and record shaping shared by the JSON API and the dashboard pages."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from zylin.config import Settings
from zylin.storage.repository import (
    ActionRecord,
    AppointmentRecord,
    CallDetail,
    CallRecord,
    EscalationRecord,
    MessageRecord,
    Page,
    Repository,
    TurnRecord,
    TurnStats,
)

LATENCY_FIELDS = ("stt_ms", "llm_ttfb_ms", "tts_ttfb_ms", "voice_to_voice_ms")
MAX_RANGE_DAYS = 366
# Days a query may name: far enough from date.min/max that the day arithmetic (a day after,
# a month before, a timezone shift) never overflows.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_INTENT = re.compile(r"^[a-z_]{1,32}$")
_CALLER = re.compile(r"^\+?[0-9]{1,20}$")
_SECRET_KEY = re.compile(r"token|secret|password|api_?key|authorization|signature", re.I)
REDACTED = "[redacted]"


class BadQuery(ValueError):
    """A query parameter the owner can fix; its message says how (shown as 422 or on the page)."""


# --- Query parameters --------------------------------------------------------------------


def parse_day(name: str, value: str | None) -> date | None:
    """A YYYY-MM-DD query value, or None when absent or empty."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} must be a date as YYYY-MM-DD, got {text[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadQuery(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}, got {text!r}")
    return day


def day_range(
    first: date | None, last: date | None, tz: ZoneInfo, *, first_name: str, last_name: str
) -> tuple[datetime | None, datetime | None]:
    """Inclusive local days [first, last] as a UTC half-open interval [start, end).

    Days are the business's days (its profile timezone), so "today" means the owner's today.
    """
    if first and last and last < first:
        raise BadQuery(f"{last_name} ({last}) is before {first_name} ({first})")
    if first and last and (last - first).days > MAX_RANGE_DAYS:
        raise BadQuery(f"the range from {first} to {last} is over {MAX_RANGE_DAYS} days")
    start = datetime.combine(first, time(), tz).astimezone(UTC) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC) if last else None
    return start, end


@dataclass(frozen=True)
class CallFilters:
    """The `/api/calls` filters, validated."""

    date_from: date | None = None
    date_to: date | None = None
    intent: str | None = None
    caller: str | None = None

    @classmethod
    def parse(
        cls,
        date_from: str | None,
        date_to: str | None,
        intent: str | None,
        caller: str | None,
    ) -> CallFilters:
        """Validate raw query values; raises `BadQuery` naming the bad one."""
        intent = (intent or "").strip().lower() or None
        if intent and not _INTENT.match(intent):
            raise BadQuery(f"intent must be a word like booking or question, got {intent[:40]!r}")
        # People paste numbers with spaces, dashes and brackets; storage holds E.164.
        caller = re.sub(r"[\s().-]", "", caller or "") or None
        if caller and not _CALLER.match(caller):
            raise BadQuery(f"caller must be digits of a phone number, got {caller[:40]!r}")
        return cls(
            date_from=parse_day("date_from", date_from),
            date_to=parse_day("date_to", date_to),
            intent=intent,
            caller=caller,
        )

    def bounds(self, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The UTC interval these dates cover in the business timezone."""
        return day_range(
            self.date_from, self.date_to, tz, first_name="date_from", last_name="date_to"
        )

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for pagination links)."""
        return {
            k: str(v)
            for k, v in (
                ("date_from", self.date_from),
                ("date_to", self.date_to),
                ("intent", self.intent),
                ("caller", self.caller),
            )
            if v
        }


# --- Secrets -----------------------------------------------------------------------------


class Redactor:
    """Removes secrets from anything about to leave the server (API JSON, dashboard pages).

    Records should never hold secrets, but action details and `extra` are free-form JSON
    written by many hands; this makes "never in a response" hold even if one slips in.
    """

    def __init__(self, settings: Settings) -> None:
        values = (getattr(settings, name) for name in type(settings).model_fields)
        self._secrets = sorted(
            {
                v.get_secret_value()
                for v in values
                if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 6
            },
            key=len,
            reverse=True,
        )

    def __call__(self, value: Any) -> Any:
        """A copy of `value` with secret values and secret-named keys blanked out."""
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else self(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if is_dataclass(value) and not isinstance(value, type):
            return self(asdict(value))  # records handed to a page: scrubbed like the rest
        return value


# --- Records -----------------------------------------------------------------------------


def latency_summary(turns: list[TurnRecord], target_ms: int) -> dict[str, Any]:
    """Per-call averages of each latency stage, over the turns that measured it."""
    averages: dict[str, float | None] = {}
    for name in LATENCY_FIELDS:
        values = [getattr(t, name) for t in turns if getattr(t, name) is not None]
        averages[name] = round(fmean(values), 1) if values else None
    v2v = [t.voice_to_voice_ms for t in turns if t.voice_to_voice_ms is not None]
    return {
        "avg": averages,
        "turns_measured": len(v2v),
        "max_voice_to_voice_ms": round(max(v2v), 1) if v2v else None,
        "target_ms": target_ms,
        "turns_over_target": sum(1 for v in v2v if v > target_ms),
    }


def call_dict(
    call: CallRecord, turns: list[TurnRecord] | None = None, *, stats: TurnStats | None = None
) -> dict[str, Any]:
    """A call's fields plus duration, and turn count / average voice-to-voice when known.

    Pass the call's `turns` when they are loaded anyway (the detail page), or its `stats`
    from `Repository.turn_stats` for a listing.
    """
    data = asdict(call)
    data["duration_secs"] = (
        round((call.ended_at - call.started_at).total_seconds(), 1) if call.ended_at else None
    )
    if turns is not None:
        v2v = [t.voice_to_voice_ms for t in turns if t.voice_to_voice_ms is not None]
        stats = TurnStats(len(turns), fmean(v2v) if v2v else None)
    if stats is not None:
        avg = stats.avg_voice_to_voice_ms
        data["turn_count"] = stats.turn_count
        data["avg_voice_to_voice_ms"] = round(avg, 1) if avg is not None else None
    return data


def turn_dict(turn: TurnRecord, target_ms: int) -> dict[str, Any]:
    """A transcript turn with its latency breakdown and whether it blew the budget."""
    data = asdict(turn)
    data["over_target"] = bool(turn.voice_to_voice_ms and turn.voice_to_voice_ms > target_ms)
    return data


def detail_dict(
    detail: CallDetail, escalations: list[EscalationRecord], target_ms: int
) -> dict[str, Any]:
    """Everything stored about one call."""
    return {
        "call": call_dict(detail.call, detail.turns),
        "turns": [turn_dict(t, target_ms) for t in detail.turns],
        "actions": [action_dict(a) for a in detail.actions],
        "escalations": [asdict(e) for e in escalations],
        "latency": latency_summary(detail.turns, target_ms),
    }


def action_dict(action: ActionRecord) -> dict[str, Any]:
    """An action the call took."""
    return asdict(action)


def appointment_dict(appointment: AppointmentRecord) -> dict[str, Any]:
    """An appointment."""
    return asdict(appointment)


def message_dict(message: MessageRecord) -> dict[str, Any]:
    """A message for the owner."""
    return asdict(message)


def page_dict(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The pagination envelope: items, total, limit, offset and the next offset (or None)."""
    following = page.offset + len(items)
    return {
        "items": items,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": following if following < page.total else None,
    }


async def calls_page(
    repository: Repository, filters: CallFilters, tz: ZoneInfo, *, limit: int, offset: int
) -> dict[str, Any]:
    """One page of calls, newest first, each with its turn count and average voice-to-voice."""
    start, end = filters.bounds(tz)
    page = await repository.list_calls(
        start=start,
        end=end,
        intent=filters.intent,
        caller=filters.caller,
        limit=limit,
        offset=offset,
    )
    stats = await repository.turn_stats(c.id for c in page.items)
    return page_dict(page, [call_dict(c, stats=stats[c.id]) for c in page.items])


def upcoming_bounds(
    start: str | None, end: str | None, tz: ZoneInfo, now: datetime
) -> tuple[date, date, datetime, datetime]:
    """The appointment window: the given local days, by default today to 30 days on."""
    first = parse_day("start", start) or now.astimezone(tz).date()
    last = parse_day("end", end) or first + timedelta(days=30)
    lo, hi = day_range(first, last, tz, first_name="start", last_name="end")
    assert lo is not None and hi is not None
    return first, last, lo, hi

"""Reads tool calls and results as the demo brain sees them in the LLM context."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """A tool the brain wants run, by the contract's names."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Appointment:
    """An appointment as `find_my_appointments` reported it."""

    id: Any  # passed back exactly as the tool gave it (an int for Zylin's tools)
    service: str | None
    start: datetime | None


def parse_tool_content(content: Any) -> Any:
    """A tool message's content as JSON when it is JSON, else as it came."""
    if isinstance(content, str):
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            return content
    return content


def error_of(result: Any) -> str | None:
    """The error a tool reported (an `error` field, or a bare string), else None."""
    if isinstance(result, Mapping) and result.get("error"):
        return str(result["error"])
    if isinstance(result, str) and result not in ("COMPLETED",):
        return result
    return None


def _as_time(value: Any) -> time | None:
    if isinstance(value, Mapping):
        value = value.get("start") or value.get("time")
    if not isinstance(value, str):
        return None
    try:
        if "T" in value or " " in value.strip():
            return datetime.fromisoformat(value).time().replace(second=0, microsecond=0)
        return time.fromisoformat(value).replace(second=0, microsecond=0)
    except ValueError:
        return None


def _as_datetime(value: Any, tz: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(tz) if parsed.tzinfo else parsed


def slot_list(result: Any) -> list[time]:
    """Free start times from a `check_availability` result, whatever its exact shape."""
    items: Any = result
    if isinstance(result, Mapping):
        items = next(
            (
                result[k]
                for k in ("free_times", "slots", "available", "times", "starts")
                if isinstance(result.get(k), list)
            ),
            [],
        )
    if not isinstance(items, list):
        return []
    return sorted({t for t in (_as_time(i) for i in items) if t is not None})


def appointment_list(result: Any, tz: Any) -> list[Appointment]:
    """The appointments in a `find_my_appointments` result; entries without an id are skipped."""
    items: Any = result
    if isinstance(result, Mapping):
        items = result.get("appointments", [])
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        ident = item.get("appointment_id", item.get("id"))
        if ident is None:
            continue
        service = item.get("service")
        out.append(
            Appointment(
                id=ident,
                service=str(service) if service else None,
                start=_as_datetime(item.get("start"), tz),
            )
        )
    return out

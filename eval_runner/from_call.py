"""`--from-call`: a scenario from a recorded call, so yesterday's calls replay after an edit.

The caller's turns become the scenario's lines; what the call did (its recorded actions)
becomes the expectation: the tools that acted, the appointments it left booked, and the ones it
moved away from or cancelled. Appointments the call changed but did not make are seeded in
`before`, since the replay runs on an empty database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from zylin.business import BusinessProfile
from zylin.config import Settings
from zylin.storage.db import create_engine, is_sqlite, session_factory
from zylin.storage.records import ActionRecord, CallDetail
from zylin.storage.repository import Repository

TOOL_OF_ACTION = {
    "booked": "book_appointment",
    "rescheduled": "reschedule_appointment",
    "cancelled": "cancel_appointment",
    "message": "take_message",
    "transfer": "transfer_to_human",
}


class FromCallError(ValueError):
    """The call cannot be turned into a scenario (not found, nothing said, file exists)."""


async def write_scenario_from_call(
    settings: Settings, call_ref: str, out: Path, *, profile: BusinessProfile, force: bool
) -> Path:
    """Read call `call_ref` (id or CallSid) from the configured database and write `out`."""
    if out.exists() and not force:  # noqa: ASYNC240 (a command-line check, before any I/O)
        raise FromCallError(f"{out} exists; pass --force to overwrite it, or --out another file")
    repository, engine = _open(settings)
    try:
        detail = await _find(repository, call_ref)
        scenario = await scenario_from_call(repository, detail, profile)
    finally:
        await engine.dispose()
    header = (
        f"# Written by ./zylin eval --from-call {call_ref}: the caller's turns of that call, and\n"
        "# what the call did as the expectation. Edit freely; run it with ./zylin eval.\n"
    )
    await asyncio.to_thread(_write, out, header + dump_scenario(scenario))
    return out


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def scenario_from_call(
    repository: Repository, detail: CallDetail, profile: BusinessProfile
) -> dict[str, Any]:
    """The scenario as YAML-ready data (keys in the documented order)."""
    call = detail.call
    turns = [t.text.strip() for t in detail.turns if t.role == "user" and t.text.strip()]
    if not turns:
        raise FromCallError(f"call {call.id} ({call.call_sid}) has no caller turns to replay")
    started = _aware(call.started_at).astimezone(profile.tz)
    tools: list[str] = []
    left: dict[int, dict[str, str]] = {}  # appointment id -> where the call left it
    before: list[dict[str, str]] = []
    gone: list[dict[str, str]] = []
    for action in detail.actions:
        tool = _tool_of(action)
        if tool and tool not in tools:
            tools.append(tool)
        found = await _appointment_change(repository, action, profile, started.year)
        if found is None:
            continue
        appointment_id, now_at, was_at = found
        if was_at is not None and appointment_id not in left:
            before.append({**was_at, "phone": call.caller_phone or ""})
        if was_at is not None:
            gone.append(_without_name(was_at))
        if now_at is None:
            left.pop(appointment_id, None)
        else:
            left[appointment_id] = now_at
    scenario: dict[str, Any] = {
        "name": f"replay of call {call.id} ({started:%Y-%m-%d %H:%M})",
        "now": started.strftime("%Y-%m-%dT%H:%M"),
        "caller_phone": call.caller_phone,
    }
    if before:
        scenario["before"] = {"appointments": [_drop_empty(b) for b in before]}
    scenario["turns"] = turns
    expect: dict[str, Any] = {"tools": tools}
    if left:
        expect["appointments"] = list(left.values())
    if gone:
        expect["not_appointments"] = gone
    scenario["expect"] = expect
    return scenario


def dump_scenario(scenario: dict[str, Any]) -> str:
    """YAML a person can read and edit (flow style for appointments, keys in order)."""
    return yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100)


async def _appointment_change(
    repository: Repository, action: ActionRecord, profile: BusinessProfile, year: int
) -> tuple[int, dict[str, str] | None, dict[str, str] | None] | None:
    """(id, where it is now or None if cancelled, where it was before the call or None)."""
    detail = action.detail or {}
    if action.kind not in ("booked", "rescheduled", "cancelled"):
        return None
    try:
        appointment_id = int(detail["appointment_id"])
        start = datetime.strptime(str(detail["start"]), "%Y-%m-%dT%H:%M")
    except (KeyError, TypeError, ValueError):
        return None
    record = await repository.get_appointment(appointment_id)
    name = record.caller_name if record else ""
    service = str(detail.get("service") or (record.service if record else ""))
    here = _spec(service, start, name)
    if action.kind == "booked":
        return appointment_id, here, None
    if action.kind == "cancelled":
        return appointment_id, None, here
    previous = _parse_when(str(detail.get("previous_when") or ""), year)
    return appointment_id, here, _spec(service, previous, name) if previous else None


def _tool_of(action: ActionRecord) -> str | None:
    if action.kind == "transfer" and (action.detail or {}).get("source") == "dtmf":
        return None  # the keypad's 0: nothing a text replay can press
    return TOOL_OF_ACTION.get(action.kind)


def _spec(service: str, start: datetime, name: str) -> dict[str, str]:
    return {
        "service": service,
        "date": start.date().isoformat(),
        "time": f"{start:%H:%M}",
        "name": name,
    }


def _without_name(spec: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in spec.items() if k != "name"}


def _drop_empty(spec: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in spec.items() if v}


def _parse_when(words: str, year: int) -> datetime | None:
    """The tools' 'Tuesday, December 1 at 10:30 AM' back to a time (the year is the call's)."""
    try:
        parsed = datetime.strptime(f"{words} {year}", "%A, %B %d at %I:%M %p %Y")
    except ValueError:
        return None
    return parsed


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _open(settings: Settings) -> tuple[Repository, Any]:
    url = settings.database_url
    database = make_url(url).database or ""
    if is_sqlite(url) and database not in ("", ":memory:") and not Path(database).exists():
        raise FromCallError(f"no database at {database} (DATABASE_URL): no calls recorded yet")
    engine = create_engine(url)
    return Repository(session_factory(engine)), engine


async def _find(repository: Repository, call_ref: str) -> CallDetail:
    ref = call_ref.strip()
    detail = await (
        repository.get_call(int(ref)) if ref.isdigit() else repository.get_call_by_sid(ref)
    )
    if detail is None:
        raise FromCallError(f"no call {ref!r} in the database (give its id or CallSid)")
    return detail

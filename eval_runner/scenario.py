"""Scenario files: read, validate and turn into typed values, naming the file and key at fault."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CALLER = "+15550001234"
SCENARIO_SUFFIXES = (".yaml", ".yml")
TOP_KEYS = {"name", "now", "caller_phone", "before", "turns", "expect"}
EXPECT_KEYS = {"tools", "not_tools", "appointments", "not_appointments", "said", "not_said"}
APPOINTMENT_KEYS = {"service", "date", "time", "name", "phone"}


class ScenarioError(ValueError):
    """A scenario file that cannot be run as written; the message says where and why."""


@dataclass(frozen=True)
class AppointmentSpec:
    """An appointment a scenario seeds or expects; a field left out matches anything."""

    service: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    name: str | None = None
    phone: str | None = None

    def describe(self) -> str:
        """'Cleaning on 2026-12-02 at 10:00 for Alex Tester', with only the fields given."""
        parts = [self.service or "an appointment"]
        if self.date:
            parts.append(f"on {self.date.isoformat()}")
        if self.time:
            parts.append(f"at {self.time:%H:%M}")
        if self.name:
            parts.append(f"for {self.name}")
        if self.phone:
            parts.append(f"({self.phone})")
        return " ".join(parts)


@dataclass(frozen=True)
class Expect:
    """What must hold after the call (each list may be empty)."""

    tools: tuple[str, ...] = ()
    not_tools: tuple[str, ...] = ()
    appointments: tuple[AppointmentSpec, ...] = ()
    not_appointments: tuple[AppointmentSpec, ...] = ()
    # Each entry: words that must appear in some line of Zylin's; a list entry gives
    # alternatives, any one of which will do (["ten", "10"]).
    said: tuple[tuple[str, ...], ...] = ()
    not_said: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One scenario file: the caller's lines, the world before, and the expectations."""

    name: str
    path: Path
    turns: tuple[str, ...]
    expect: Expect
    # Business-local wall time (naive); None: the moment the run starts.
    now: dt.datetime | None = None
    caller_phone: str | None = DEFAULT_CALLER
    before: tuple[AppointmentSpec, ...] = field(default_factory=tuple)


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and every `.yaml`/`.yml` under the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    return found


def load_scenario(path: Path, *, known_tools: Iterable[str]) -> Scenario:
    """Read one scenario file; raises `ScenarioError` saying which key is wrong and how."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_scenario(data, path=path, known_tools=set(known_tools))
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def parse_scenario(data: Any, *, path: Path, known_tools: set[str]) -> Scenario:
    """A `Scenario` from the file's parsed YAML (errors name the key, not the file)."""
    top = _mapping(data, "the file", TOP_KEYS)
    turns = top.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScenarioError("'turns' must be a list of what the caller says, one line each")
    lines = tuple(_text(t, f"turns[{i}]") for i, t in enumerate(turns))
    expect = _mapping(top.get("expect") or {}, "'expect'", EXPECT_KEYS)
    before = _mapping(top.get("before") or {}, "'before'", {"appointments"})
    return Scenario(
        name=_text(top.get("name") or path.stem, "name"),
        path=path,
        turns=lines,
        now=_now(top.get("now")),
        caller_phone=_phone(top["caller_phone"]) if "caller_phone" in top else DEFAULT_CALLER,
        before=_appointments(before.get("appointments"), "before.appointments", need_all=True),
        expect=Expect(
            tools=_tool_names(expect.get("tools"), "expect.tools", known_tools),
            not_tools=_tool_names(expect.get("not_tools"), "expect.not_tools", known_tools),
            appointments=_appointments(expect.get("appointments"), "expect.appointments"),
            not_appointments=_appointments(
                expect.get("not_appointments"), "expect.not_appointments"
            ),
            said=_alternatives(expect.get("said"), "expect.said"),
            not_said=_texts(expect.get("not_said"), "expect.not_said"),
        ),
    )


def _mapping(value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where} must be a mapping of keys to values")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ScenarioError(
            f"{where} has unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )
    return value


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ScenarioError(f"{where} must be text")
    text = " ".join(str(value).split())
    if not text:
        raise ScenarioError(f"{where} is empty")
    return text


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be a list")
    return tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(value))


def _alternatives(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be a list")
    found = []
    for i, item in enumerate(value):
        options = _texts(item, f"{where}[{i}]") if isinstance(item, list) else (item,)
        found.append(tuple(_text(o, f"{where}[{i}]") for o in options))
        if not found[-1]:
            raise ScenarioError(f"{where}[{i}] is an empty list")
    return tuple(found)


def _tool_names(value: Any, where: str, known: set[str]) -> tuple[str, ...]:
    names = _texts(value, where)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError(
            f"{where}: no tool named {', '.join(unknown)} (tools: {', '.join(sorted(known))})"
        )
    return names


def _phone(value: Any) -> str | None:
    if value is None or value == "":
        return None  # a withheld number
    return _text(value, "caller_phone")


def _now(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(
            f'now: {value!r} is not a date and time like "2026-12-01T09:00"'
        ) from None


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f'{where}: {value!r} is not a date like "2026-12-02"') from None


def _time(value: Any, where: str) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted 10:00 as the number 600 (base 60).
        raise ScenarioError(f'{where}: write the time in quotes, like "10:00"')
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f'{where}: {value!r} is not a 24-hour time like "14:30"') from None


def _appointments(value: Any, where: str, *, need_all: bool = False) -> tuple[AppointmentSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be a list")
    specs = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        fields = _mapping(item, here, APPOINTMENT_KEYS)
        needed = ("service", "date", "time") if need_all else ()
        missing = [k for k in needed if k not in fields]
        if missing:
            raise ScenarioError(f"{here} needs {', '.join(missing)}")
        specs.append(
            AppointmentSpec(
                service=_text(fields["service"], f"{here}.service")
                if "service" in fields
                else None,
                date=_date(fields["date"], f"{here}.date") if "date" in fields else None,
                time=_time(fields["time"], f"{here}.time") if "time" in fields else None,
                name=_text(fields["name"], f"{here}.name") if "name" in fields else None,
                phone=_text(fields["phone"], f"{here}.phone") if "phone" in fields else None,
            )
        )
    return tuple(specs)

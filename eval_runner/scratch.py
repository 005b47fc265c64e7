"""A throwaway world per scenario: a fresh migrated SQLite file, its bookings, a call context.

Nothing here touches the configured database or a real phone: the database is a copy of a
template migrated once per run, and Twilio is the local REST fake, so a transfer or a text
message goes through the real code path and reaches nobody.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.fakes.twilio_rest_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioRestFake,
)
from eval_runner.scenario import AppointmentSpec, Scenario, ScenarioError
from zylin.business import BusinessProfile
from zylin.call.context import CallContext
from zylin.config import Settings
from zylin.prompts import Prompts
from zylin.storage.db import create_engine, migrate, session_factory
from zylin.storage.repository import AppointmentRecord, Repository
from zylin.telephony import TwilioRest

CALLED_PHONE = "+15550000000"
SEEDED_NAME = "Pat Example"


def sqlite_url(path: Path) -> str:
    """The async SQLite URL of a file."""
    return f"sqlite+aiosqlite:///{path}"


class ScratchDatabases:
    """Migrates a template database once, then gives every scenario its own copy of it."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._template = directory / "template.db"
        self._count = 0

    async def prepare(self) -> None:
        """Create and migrate the template (once per run; a copy is much faster)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        await migrate(sqlite_url(self._template))

    def fresh(self) -> str:
        """A new database file with the schema and nothing in it; returns its URL."""
        self._count += 1
        target = self._dir / f"scenario-{self._count}.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self._template}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{target}{suffix}"))
        return sqlite_url(target)


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[TwilioRest]:
    """Twilio credentials that reach the local REST fake: transfers and texts go nowhere."""
    fake = await TwilioRestFake().start()
    twilio = TwilioRest(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, fake.url)
    try:
        yield twilio
    finally:
        await twilio.aclose()
        await fake.stop()


def pinned_clock(scenario: Scenario, profile: BusinessProfile, started: datetime) -> datetime:
    """The scenario's `now` (business-local) as an aware instant; else when the run started."""
    if scenario.now is None:
        return started
    local = scenario.now if scenario.now.tzinfo else scenario.now.replace(tzinfo=profile.tz)
    return local.astimezone(UTC)


@dataclass
class World:
    """One scenario's database and call context; `close` releases the database."""

    ctx: CallContext
    repository: Repository
    _engine: Any

    async def close(self) -> None:
        """Dispose of the database engine (the file is removed with the run's folder)."""
        await self._engine.dispose()


async def open_world(
    scenario: Scenario,
    *,
    db_url: str,
    settings: Settings,
    profile: BusinessProfile,
    prompts: Prompts,
    twilio: TwilioRest,
    now: Callable[[], datetime],
) -> World:
    """The database seeded with `before`, the call's row, and the context the tools read."""
    engine = create_engine(db_url)
    repository = Repository(session_factory(engine), clock=now)
    try:
        for i, spec in enumerate(scenario.before):
            await _seed(
                repository, profile, spec, scenario.caller_phone, f"before.appointments[{i}]"
            )
        call_sid, stream_sid = "CA" + uuid.uuid4().hex, "MZ" + uuid.uuid4().hex
        await repository.create_call(
            call_sid,
            stream_sid=stream_sid,
            caller_phone=scenario.caller_phone,
            called_phone=CALLED_PHONE,
            started_at=now(),
        )
    except BaseException:
        await engine.dispose()
        raise
    ctx = CallContext(
        settings=settings,
        profile=profile,
        repository=repository,
        twilio=twilio,
        now=now,
        call_sid=call_sid,
        stream_sid=stream_sid,
        caller_phone=scenario.caller_phone,
        called_phone=CALLED_PHONE,
        lines=prompts.filled_lines(profile),
    )
    return World(ctx=ctx, repository=repository, _engine=engine)


async def _seed(
    repository: Repository,
    profile: BusinessProfile,
    spec: AppointmentSpec,
    caller_phone: str | None,
    where: str,
) -> AppointmentRecord:
    service = profile.service(spec.service or "")
    if service is None:
        names = ", ".join(s.name for s in profile.services)
        raise ScenarioError(f"{where}: the profile has no service {spec.service!r} ({names})")
    assert spec.date is not None and spec.time is not None  # required by the loader
    start = datetime.combine(spec.date, spec.time, tzinfo=profile.tz)
    return await repository.book(
        service=service.name,
        start_at=start,
        end_at=start + timedelta(minutes=service.minutes),
        caller_name=spec.name or SEEDED_NAME,
        caller_phone=spec.phone or caller_phone,
    )

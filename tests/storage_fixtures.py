"""Shared storage and tool test helpers: databases (SQLite, fresh PostgreSQL), clock, tool calls."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pipecat.frames.frames import Frame, FunctionCallResultProperties
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zylin.business import BusinessProfile, load_profile
from zylin.call.context import CallContext
from zylin.call.playout import HeardProbeFrame
from zylin.config import ROOT, Settings
from zylin.prompts import load_prompts
from zylin.storage.db import create_engine, migrate, session_factory
from zylin.storage.repository import Repository
from zylin.telephony import TwilioRest

POSTGRES_ENV = "ZYLIN_TEST_POSTGRES_URL"
SKIP_PG_REASON = (
    f"{POSTGRES_ENV} is not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test); "
    "PostgreSQL storage tests skipped"
)
EXAMPLE_PROFILE = ROOT / "business" / "example_profile.yaml"
CALLER = "+15555550100"
OTHER_CALLER = "+15555550177"
CALLED = "+15555550199"


def postgres_admin_url() -> str | None:
    """The PostgreSQL server tests may use (a database on it is created per test)."""
    return os.environ.get(POSTGRES_ENV) or None


def sqlite_url(directory: Path) -> str:
    """A SQLite file URL in `directory` (the file does not exist yet)."""
    return f"sqlite+aiosqlite:///{directory / 'data' / 'zylin.db'}"


async def create_pg_database(admin_url: str) -> str:
    """Create a uniquely named database on the server; returns its URL (reruns start clean)."""
    name = f"zylin_test_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_pg_database` (forcing out stray connections)."""
    name = make_url(url).database
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def backend_params() -> list[Any]:
    """`sqlite` always; `postgres` skipped with a clear reason when the server URL is unset."""
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres",
            id="postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(postgres_admin_url() is None, reason=SKIP_PG_REASON),
            ],
        ),
    ]


@pytest_asyncio.fixture(params=backend_params())
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a database with no tables: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    admin = postgres_admin_url()
    assert admin is not None
    url = await create_pg_database(admin)
    try:
        yield url
    finally:
        await drop_pg_database(admin, url)


@dataclass
class Clock:
    """An injected clock a test can move."""

    current: datetime

    def __call__(self) -> datetime:
        return self.current


async def open_repository(url: str, clock: Clock | None = None) -> tuple[Repository, Any]:
    """Migrate `url` and return a repository on it plus its engine (dispose it after)."""
    await migrate(url)
    engine = create_engine(url)
    return Repository(session_factory(engine), clock=clock), engine


def example_profile(**changes: Any) -> BusinessProfile:
    """The shipped example profile (New York; Mon-Thu 9-17, Fri 9-13), optionally changed."""
    profile = load_profile(EXAMPLE_PROFILE)
    return profile.model_copy(update=changes) if changes else profile


class RecordingLLM(FrameProcessor):
    """Stands in for `params.llm`: records what tools push instead of sending it on."""

    def __init__(self) -> None:
        super().__init__(name="RecordingLLM")
        self.pushed: list[tuple[Frame, FrameDirection]] = []

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        self.pushed.append((frame, direction))


@dataclass
class ToolRun:
    """What one tool call returned."""

    result: Any = None
    properties: FunctionCallResultProperties | None = None
    calls: int = 0


@dataclass
class ToolHarness:
    """Calls direct functions the way Pipecat does, with a real FunctionCallParams."""

    ctx: CallContext
    llm: RecordingLLM = field(default_factory=RecordingLLM)

    async def call(self, tool: Any, **arguments: Any) -> Any:
        run = await self.run(tool, **arguments)
        return run.result

    async def run(self, tool: Any, **arguments: Any) -> ToolRun:
        run = ToolRun()

        async def result_callback(
            result: Any, *, properties: FunctionCallResultProperties | None = None
        ) -> None:
            run.result, run.properties = result, properties
            run.calls += 1

        params = FunctionCallParams(
            function_name=tool.__name__,
            tool_call_id=f"call_{uuid.uuid4().hex[:8]}",
            arguments=arguments,
            llm=self.llm,  # type: ignore[arg-type]
            pipeline_worker=None,  # type: ignore[arg-type]
            context=LLMContext(),
            result_callback=result_callback,
            app_resources=self.ctx,
        )
        await tool(params=params, **arguments)
        assert run.calls == 1, "a tool must report exactly one result"
        return run

    def said(self) -> list[Frame]:
        """What the tools pushed, without the heard-probes that ride along."""
        return [f for f, _ in self.llm.pushed if not isinstance(f, HeardProbeFrame)]

    async def heard(self) -> None:
        """Twilio echoes the mark of every probe pushed so far: the caller heard it all."""
        for frame, _direction in list(self.llm.pushed):
            if isinstance(frame, HeardProbeFrame):
                await self.ctx.heard.heard(frame.probe_id)


def make_context(
    repository: Repository,
    twilio: TwilioRest,
    clock: Clock,
    *,
    profile: BusinessProfile | None = None,
    caller_phone: str | None = CALLER,
    call_sid: str = "CA" + "1" * 32,
) -> CallContext:
    """A call's context as the server builds it, on test dependencies."""
    return CallContext(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        profile=profile or example_profile(),
        repository=repository,
        twilio=twilio,
        now=clock,
        call_sid=call_sid,
        stream_sid="MZ" + "1" * 32,
        caller_phone=caller_phone,
        called_phone=CALLED,
        lines=load_prompts().filled_lines(profile or example_profile()),
    )


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)

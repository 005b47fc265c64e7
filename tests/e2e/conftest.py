"""Fixtures for end-to-end calls: fakes, a real server wired to them, and a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from tests.harness import Fakes, RunningServer, cloud_settings, running_fakes, running_server

# Monday 2026-11-30, 10:00 in New York: the example business is open.
OPEN_NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with running_fakes() as started:
        yield started


@pytest_asyncio.fixture
async def zylin(fakes: Fakes, tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = cloud_settings(fakes, tmp_path, silence_prompt_secs=30.0)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        yield server

"""The concurrent-call cap holds across processes: two stores on one database (or one Redis)
behave like two worker processes of one box."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from tests.storage_fixtures import (
    backend_params,
    create_pg_database,
    drop_pg_database,
    postgres_admin_url,
    sqlite_url,
)
from zylin.storage.call_slots import CallSlots, DatabaseCallSlots, RedisCallSlots
from zylin.storage.db import create_engine, migrate, session_factory

REDIS_ENV = "ZYLIN_TEST_REDIS_URL"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture(params=backend_params())
async def two_workers(request, tmp_path: Path) -> AsyncIterator[tuple[CallSlots, CallSlots, Clock]]:
    """Two database stores with their own engines, as two worker processes have."""
    admin = postgres_admin_url()
    url = await create_pg_database(admin) if request.param == "postgres" and admin else None
    url = url or sqlite_url(tmp_path)
    await migrate(url)
    clock = Clock()
    engines = [create_engine(url), create_engine(url)]
    try:
        stores = [DatabaseCallSlots(session_factory(e), clock=clock) for e in engines]
        yield stores[0], stores[1], clock
    finally:
        for engine in engines:
            await engine.dispose()
        if request.param == "postgres" and admin:
            await drop_pg_database(admin, url)


async def test_the_cap_holds_across_workers(two_workers) -> None:
    first, second, _clock = two_workers
    assert await first.reserve("CA1", cap=2, hold_secs=60)
    assert await second.reserve("CA2", cap=2, hold_secs=60)
    assert not await first.reserve("CA3", cap=2, hold_secs=60)
    assert not await second.reserve("CA3", cap=2, hold_secs=60)
    assert await second.reserve("CA1", cap=2, hold_secs=90)  # renewing its own slot never fails
    assert await first.in_use() == 2
    await second.release("CA1")  # a call another worker took ends
    assert await first.reserve("CA3", cap=2, hold_secs=60)


async def test_a_slot_nobody_renews_expires(two_workers) -> None:
    first, second, clock = two_workers
    assert await first.reserve("CA1", cap=1, hold_secs=90)
    clock.now += timedelta(seconds=60)
    assert not await second.reserve("CA2", cap=1, hold_secs=90)
    clock.now += timedelta(seconds=31)  # the first worker died without releasing
    assert await second.in_use() == 0
    assert await second.reserve("CA2", cap=1, hold_secs=90)


@pytest_asyncio.fixture
async def redis_workers() -> AsyncIterator[tuple[RedisCallSlots, RedisCallSlots]]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (e.g. redis://127.0.0.1:6379/0); Redis tests skipped")
    key = f"zylin:test:{uuid.uuid4().hex}"
    stores = RedisCallSlots(url, key=key), RedisCallSlots(url, key=key)
    try:
        yield stores
    finally:
        await stores[0].release("CA1")
        for store in stores:
            await store.aclose()


@pytest.mark.timing
async def test_the_cap_holds_across_workers_on_redis(redis_workers) -> None:
    first, second = redis_workers
    assert await first.reserve("CA1", cap=2, hold_secs=60)
    assert await second.reserve("CA2", cap=2, hold_secs=60)
    assert not await first.reserve("CA3", cap=2, hold_secs=60)
    assert await second.reserve("CA1", cap=2, hold_secs=60)  # renewal
    assert await first.in_use() == 2
    await second.release("CA2")
    assert await first.reserve("CA3", cap=2, hold_secs=2)
    assert await first.in_use() == 2
    await asyncio.sleep(2.5)  # CA3's hold runs out: its worker did not renew it
    assert await first.in_use() == 1
    await first.release("CA3")

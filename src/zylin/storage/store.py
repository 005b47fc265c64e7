"""The session plumbing every part of the repository shares: one short transaction per call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zylin.storage.db import WRITE_OPTION
from zylin.storage.records import Page, to_record

T = TypeVar("T")

MAX_PAGE = 500


class Store:
    """Sessions and a clock; the per-aggregate stores add their methods on top.

    Args:
        sessions: from `storage.db.session_factory(engine)`.
        clock: the time for `created_at`/`updated_at`/`used_at` stamps (injected in tests).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on exit, rolled back on an exception.

        On SQLite it starts with BEGIN IMMEDIATE (see `storage.db.create_engine`), so a
        read-then-write never fails half-way because another process wrote in between.
        """
        async with self._sessions() as session, session.begin():
            await session.connection(execution_options={WRITE_OPTION: True})
            yield session


async def fetch_page(
    session: AsyncSession,
    query: Select[Any],
    order_by: tuple[Any, ...],
    record: type[T],
    *,
    limit: int,
    offset: int,
) -> Page[T]:
    """One page of `query` as `record`s, with the total; limit is clamped to 1..MAX_PAGE."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return Page([to_record(record, r) for r in rows], int(total or 0), limit, offset)


async def count_where(session: AsyncSession, *conditions: Any) -> int:
    """How many rows of the conditions' table match them all."""
    query = select(func.count()).where(*conditions)
    return int(await session.scalar(query) or 0)

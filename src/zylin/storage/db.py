"""Database engine set-up (SQLite with WAL or PostgreSQL) and start-up migrations."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from loguru import logger
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# How long a SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE (see below).
WRITE_OPTION = "zylin_write"
# Any constant shared by every server process; serialises concurrent start-up migrations.
_PG_MIGRATION_LOCK = 0x7A796C696E  # "zylin"


def is_sqlite(url: str) -> bool:
    """Whether `url` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite file (./data/ by default) so first start needs no step."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite or postgresql+asyncpg).

    SQLite is set up so several server processes can share one file: WAL journal (readers
    never block the writer), a busy timeout (a writer waits for the lock instead of failing),
    foreign keys on, and SQLAlchemy in charge of BEGIN. Transactions opened with the
    `zylin_write` execution option start with BEGIN IMMEDIATE: they take the write lock before
    their first read, so a read-then-write transaction can never fail half-way with
    "database is locked" (SQLITE_BUSY_SNAPSHOT) when another process wrote in between.
    """
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return _create_async_engine(url, **kwargs)

    ensure_sqlite_dir(url)
    engine = _create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (the sqlite3 driver's legacy mode skips it for
        # SELECT and DDL, which breaks transactional migrations and repeatable reads).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(cursor: Any) -> None:
    """Put the SQLite file in WAL mode, waiting out another process that holds a lock.

    The switch needs an exclusive lock and SQLite answers "database is locked" at once,
    without its busy handler, while another connection holds one (two workers starting on a
    new file at the same moment). WAL is stored in the file, so this only waits until the
    first process has switched it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            (mode,) = cursor.fetchone()
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for `engine`; objects stay readable after commit (no lazy reload)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Alembic configuration built in code: no alembic.ini, no environment variables."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        # Several workers may start at once: the first migrates, the others wait, then see head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema (Alembic `upgrade head`).

    Safe to call from every server process at start-up: on SQLite the migration runs in one
    BEGIN IMMEDIATE transaction, on PostgreSQL under an advisory lock, so concurrent callers
    queue up and all but the first find nothing to do.
    """
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                await connection.run_sync(_upgrade, alembic_config())
    finally:
        await engine.dispose()
    logger.info(f"database schema is up to date ({make_url(url).get_backend_name()})")

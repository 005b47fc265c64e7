"""Storage on SQLite and PostgreSQL: migrations, repository, and the two-process booking race."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import storage_fixtures
from tests.storage_fixtures import (
    CALLER,
    OTHER_CALLER,
    Clock,
    open_repository,
    sqlite_url,
    utc,
)
from zylin.storage.db import create_engine, migrate
from zylin.storage.models import StreamTokenUse, slot_units
from zylin.storage.repository import SlotTaken, TurnStats
from zylin.storage.stream_tokens import PRUNE_BATCH, STREAM_TOKEN_RETENTION

empty_db_url = storage_fixtures.empty_db_url  # a new SQLite file / PostgreSQL database per test

T0 = utc(2030, 1, 7, 15, 0)  # a Monday, 10:00 in New York
TABLES = {
    "alembic_version",
    "appointment_slots",
    "appointments",
    "call_actions",
    "call_turns",
    "calls",
    "escalations",
    "messages",
    "stream_tokens",
}


async def _book(repo, start, minutes=30, phone=CALLER, name="Ann"):
    return await repo.book(
        service="Cleaning",
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        caller_name=name,
        caller_phone=phone,
    )


async def test_migrate_creates_every_table_and_is_idempotent(empty_db_url: str) -> None:
    await migrate(empty_db_url)
    await migrate(empty_db_url)
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            uniques = await conn.run_sync(
                lambda c: inspect(c).get_unique_constraints("appointment_slots")
            )
    finally:
        await engine.dispose()
    assert names >= TABLES
    assert any(
        u["column_names"] == ["resource", "slot_start_at"]
        and u["name"] == "uq_appointment_slots_resource_slot_start_at"
        for u in uniques
    )


async def test_sqlite_file_and_directory_created_in_wal_mode(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'data' / 'zylin.db'}"
    await migrate(url)
    assert (tmp_path / "nested" / "data" / "zylin.db").exists()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await engine.dispose()
    assert mode == "wal"
    assert timeout and timeout >= 5000


async def test_overlapping_booking_refused_and_adjacent_allowed(empty_db_url: str) -> None:
    repo, engine = await open_repository(empty_db_url)
    try:
        first = await _book(repo, T0)
        assert first.start_at == T0 and first.start_at.tzinfo is not None
        for start in (T0, T0 + timedelta(minutes=25), T0 - timedelta(minutes=10)):
            with pytest.raises(SlotTaken):
                await _book(repo, start, phone=OTHER_CALLER)
        await _book(repo, T0 + timedelta(minutes=30))  # back to back is fine
        await _book(repo, T0 - timedelta(minutes=30))
        await repo.book(
            service="Cleaning",
            start_at=T0,
            end_at=T0 + timedelta(minutes=30),
            caller_name="Room 2",
            caller_phone=None,
            resource="chair-2",
        )  # another resource is independent
        booked = await repo.appointments_between(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert len(booked) == 4
    finally:
        await engine.dispose()


async def test_cancel_frees_the_time_and_checks_the_owner(empty_db_url: str) -> None:
    repo, engine = await open_repository(empty_db_url)
    try:
        appt = await _book(repo, T0)
        assert await repo.cancel(appt.id, caller_phone=OTHER_CALLER) is None
        cancelled = await repo.cancel(appt.id, caller_phone=CALLER)
        assert cancelled is not None and cancelled.status == "cancelled"
        assert await repo.cancel(appt.id) is None  # already cancelled
        again = await _book(repo, T0, phone=OTHER_CALLER)
        assert again.id != appt.id
        all_rows = await repo.appointments_between(
            T0, T0 + timedelta(hours=1), include_cancelled=True
        )
        assert {a.status for a in all_rows} == {"booked", "cancelled"}
    finally:
        await engine.dispose()


async def test_reschedule_moves_claims_atomically(empty_db_url: str) -> None:
    repo, engine = await open_repository(empty_db_url)
    try:
        mine = await _book(repo, T0)
        other = await _book(repo, T0 + timedelta(hours=1), phone=OTHER_CALLER)
        # Overlapping its own old time is fine (old claims are released in the same transaction).
        moved = await repo.reschedule(
            mine.id, start_at=T0 + timedelta(minutes=15), end_at=T0 + timedelta(minutes=45)
        )
        assert moved is not None and moved.start_at == T0 + timedelta(minutes=15)
        with pytest.raises(SlotTaken):
            await repo.reschedule(
                mine.id, start_at=other.start_at, end_at=other.start_at + timedelta(minutes=30)
            )
        unchanged = await repo.get_appointment(mine.id)
        assert unchanged is not None and unchanged.start_at == T0 + timedelta(minutes=15)
        await _book(repo, T0, minutes=15, phone=OTHER_CALLER)  # the released time is free
        assert (
            await repo.reschedule(
                other.id,
                start_at=T0 + timedelta(hours=3),
                end_at=T0 + timedelta(hours=4),
                caller_phone=CALLER,
            )
            is None
        )  # not this caller's
    finally:
        await engine.dispose()


async def test_calls_turns_actions_and_listing(empty_db_url: str) -> None:
    clock = Clock(T0)
    repo, engine = await open_repository(empty_db_url, clock)
    try:
        for i in range(5):
            clock.current = T0 + timedelta(minutes=i)
            await repo.create_call(
                f"CA{i}", caller_phone=CALLER if i % 2 else OTHER_CALLER, called_phone="+1555"
            )
        again = await repo.create_call("CA0", stream_sid="MZ0")  # idempotent, fills gaps
        assert again.stream_sid == "MZ0" and again.started_at == T0
        await repo.add_turn(
            "CA1",
            seq=0,
            role="assistant",
            text="Hello",
            heard_text="Hel",
            interrupted=True,
            voice_to_voice_ms=800.0,
        )
        await repo.add_turn("CA1", seq=1, role="user", text="Hi", stt_ms=120.5)
        await repo.add_action("CA1", "booked", {"appointment_id": 1})
        await repo.update_call("CA1", intent="booking", summary="Booked a cleaning.")
        await repo.finish_call("CA1", end_reason="bot_ended", ended_at=T0 + timedelta(hours=1))

        detail = await repo.get_call_by_sid("CA1")
        assert detail is not None
        assert [t.text for t in detail.turns] == ["Hello", "Hi"]
        assert detail.turns[0].interrupted and detail.turns[0].heard_text == "Hel"
        assert detail.turns[1].stt_ms == 120.5
        assert detail.actions[0].detail == {"appointment_id": 1}
        assert detail.call.end_reason == "bot_ended" and detail.call.intent == "booking"
        assert (await repo.get_call(detail.call.id)) == detail

        page = await repo.list_calls(limit=2)
        assert page.total == 5 and [c.call_sid for c in page.items] == ["CA4", "CA3"]
        page2 = await repo.list_calls(limit=2, offset=2)
        assert [c.call_sid for c in page2.items] == ["CA2", "CA1"]
        assert (await repo.list_calls(intent="booking")).total == 1
        assert (await repo.list_calls(caller="0100")).total == 2
        window = await repo.list_calls(start=T0 + timedelta(minutes=1), end=T0 + timedelta(3))
        assert window.total == 4
        with pytest.raises(ValueError):
            await repo.update_call("CA1", bogus="x")
        with pytest.raises(ValueError):
            await repo.add_turn("CA1", seq=2, role="user", bogus="x")
    finally:
        await engine.dispose()


async def test_turn_stats_count_and_average_a_page_in_one_query(empty_db_url: str) -> None:
    repo, engine = await open_repository(empty_db_url, Clock(T0))
    try:
        ids = {sid: (await repo.create_call(sid)).id for sid in ("CA-a", "CA-b", "CA-c")}
        for seq, v2v in enumerate([900.0, None, 3500.0, None, 650.5]):
            await repo.add_turn("CA-a", seq=seq, role="assistant", voice_to_voice_ms=v2v)
        await repo.add_turn("CA-b", seq=0, role="user", text="Hello?")  # nothing measured
        # CA-c has no turns at all.

        statements: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            stats = await repo.turn_stats([ids["CA-a"], ids["CA-b"], ids["CA-c"], 999_999])
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)

        assert len(statements) == 1 and "GROUP BY" in statements[0]
        a = stats[ids["CA-a"]]
        assert a.turn_count == 5
        assert a.avg_voice_to_voice_ms == pytest.approx((900.0 + 3500.0 + 650.5) / 3)
        assert stats[ids["CA-b"]] == TurnStats(turn_count=1, avg_voice_to_voice_ms=None)
        assert stats[ids["CA-c"]] == TurnStats(turn_count=0, avg_voice_to_voice_ms=None)
        assert stats[999_999] == TurnStats()  # an id with no call: no turns either
        assert await repo.turn_stats([]) == {}
        # Equal to what the full detail gives, for every call.
        for call_id in ids.values():
            detail = await repo.get_call(call_id)
            assert detail is not None and stats[call_id].turn_count == len(detail.turns)
    finally:
        await engine.dispose()


async def test_messages_escalations_tokens(empty_db_url: str) -> None:
    clock = Clock(T0)
    repo, engine = await open_repository(empty_db_url, clock)
    try:
        for i in range(3):
            clock.current = T0 + timedelta(minutes=i)
            await repo.add_message(
                caller_name=f"N{i}", message="Call me", caller_phone=CALLER, callback_number="123"
            )
        page = await repo.list_messages(limit=2)
        assert page.total == 3 and page.items[0].caller_name == "N2"
        esc = await repo.add_escalation(call_sid="CA9", reason="x" * 400, outcome="transferred")
        await repo.set_escalation_outcome(esc, "failed")
        [record] = await repo.escalations_for_call("CA9")
        assert record.outcome == "failed" and len(record.reason) == 300
        assert await repo.consume_stream_token("nonce-1", "CA9") is True
        assert await repo.consume_stream_token("nonce-1", "CA9") is False
        clock.current = T0 + timedelta(days=1)
        assert await repo.prune_stream_tokens(T0 + timedelta(hours=1)) == 1
    finally:
        await engine.dispose()


async def _nonces(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(text("SELECT nonce FROM stream_tokens"))).scalars())


async def test_consuming_a_token_prunes_old_nonces_and_keeps_fresh_ones(
    empty_db_url: str,
) -> None:
    """Nothing else prunes `stream_tokens`: every consume forgets nonces over a day old."""
    clock = Clock(T0)
    repo, engine = await open_repository(empty_db_url, clock)
    try:
        for i in range(3):
            assert await repo.consume_stream_token(f"old-{i}", "CA1") is True
        clock.current = T0 + STREAM_TOKEN_RETENTION - timedelta(minutes=1)
        assert await repo.consume_stream_token("recent", "CA2") is True
        assert await _nonces(engine) == {"old-0", "old-1", "old-2", "recent"}  # none old yet

        clock.current = T0 + STREAM_TOKEN_RETENTION + timedelta(seconds=1)
        assert await repo.consume_stream_token("fresh", "CA3") is True
        assert await _nonces(engine) == {"recent", "fresh"}

        # A replay is still refused, and a refused replay changes nothing.
        assert await repo.consume_stream_token("fresh", "CA3") is False
        assert await repo.consume_stream_token("recent", "CA2") is False
        assert await _nonces(engine) == {"recent", "fresh"}
    finally:
        await engine.dispose()


async def test_pruning_deletes_a_bounded_batch_per_consume(empty_db_url: str) -> None:
    """A large backlog (a database from before pruning) is cleared oldest first, in batches."""
    clock = Clock(T0)
    repo, engine = await open_repository(empty_db_url, clock)
    backlog = PRUNE_BATCH + 3
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(StreamTokenUse),
                [
                    {"nonce": f"old-{i:04d}", "call_sid": "CA1", "used_at": T0 + timedelta(i)}
                    for i in range(backlog)
                ],
            )  # one day apart: old-0000 is the oldest
        clock.current = T0 + timedelta(days=backlog + 1)
        await repo.consume_stream_token("new-0", "CA2")
        left = await _nonces(engine)
        assert left == {f"old-{i:04d}" for i in range(PRUNE_BATCH, backlog)} | {"new-0"}
        await repo.consume_stream_token("new-1", "CA2")
        assert await _nonces(engine) == {"new-0", "new-1"}
    finally:
        await engine.dispose()


async def test_concurrent_consumers_prune_without_breaking_single_use(empty_db_url: str) -> None:
    """Two engines (as two workers) prune one backlog at once: no deadlock, no lost nonce."""
    now = utc(2030, 2, 1)
    first, engine_a = await open_repository(empty_db_url, Clock(now))
    second, engine_b = await open_repository(empty_db_url, Clock(now))
    try:
        async with engine_a.begin() as conn:
            await conn.execute(
                insert(StreamTokenUse),
                [
                    {"nonce": f"old-{i}", "call_sid": "CA1", "used_at": T0}
                    for i in range(3 * PRUNE_BATCH)
                ],
            )
        nonces = [f"n-{i}" for i in range(20)]
        results = await asyncio.gather(
            *(repo.consume_stream_token(n, "CA2") for n in nonces for repo in (first, second))
        )
        accepted = [sum(results[2 * i : 2 * i + 2]) for i in range(len(nonces))]
        assert accepted == [1] * len(nonces)  # each nonce accepted exactly once
        assert await _nonces(engine_a) == set(nonces)  # and the whole backlog is gone
    finally:
        await engine_a.dispose()
        await engine_b.dispose()


async def test_naive_datetimes_are_refused(empty_db_url: str) -> None:
    repo, engine = await open_repository(empty_db_url)
    try:
        with pytest.raises(Exception, match="naive"):
            await _book(repo, T0.replace(tzinfo=None))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("begin", ["BEGIN", "BEGIN IMMEDIATE"])
async def test_sqlite_connect_waits_for_another_process_writing_a_new_file(
    tmp_path: Path, begin: str
) -> None:
    """Switching a new file to WAL gets "locked" at once, with no busy wait, while another
    process writes (two workers' first start): the connection waits it out instead."""
    url = sqlite_url(tmp_path)
    path = tmp_path / "data" / "zylin.db"
    path.parent.mkdir(parents=True)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other_process (x INTEGER)")
    other.execute(begin)
    other.execute("INSERT INTO other_process VALUES (1)")
    release = threading.Timer(0.3, other.commit)
    release.start()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    finally:
        release.join()
        other.close()
        await engine.dispose()
    assert mode == "wal"


def test_overlapping_intervals_always_share_a_slot_unit() -> None:
    base = T0
    for a_start in range(0, 60, 1):
        for b_start in range(0, 60, 7):
            a = (base + timedelta(minutes=a_start), base + timedelta(minutes=a_start + 17))
            b = (base + timedelta(minutes=b_start), base + timedelta(minutes=b_start + 23))
            overlap = a[0] < b[1] and b[0] < a[1]
            if overlap:
                assert set(slot_units(*a)) & set(slot_units(*b))


# --- Two processes, same moment ------------------------------------------------------------

ROUNDS = 25


def _race_worker(url: str, who: int, barrier, results) -> None:
    """One server process: migrate at start-up, then book / consume tokens in lockstep."""
    asyncio.run(_race(url, who, barrier, results))


async def _race(url: str, who: int, barrier, results) -> None:
    await migrate(url)  # both processes start up at once, like two workers
    repo, engine = await open_repository(url)
    try:
        barrier.wait(timeout=60)
        for r in range(ROUNDS):
            start = T0 + timedelta(days=r)
            # Even rounds: the same slot. Odd rounds: overlapping but different starts.
            offset = timedelta(minutes=0 if r % 2 == 0 else 15 * who)
            barrier.wait(timeout=60)
            try:
                await _book(repo, start + offset, phone=f"+1555000{who:04d}", name=f"P{who}")
                won = True
            except SlotTaken:
                won = False
            token = await repo.consume_stream_token(f"nonce-{r}", "CA-race")
            results.put((r, who, won, token))
    finally:
        await engine.dispose()


@pytest.mark.timeout(180)
async def test_two_processes_race_for_the_same_slot(empty_db_url: str) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_race_worker, args=(empty_db_url, who, barrier, results))
        for who in (1, 2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        await asyncio.to_thread(p.join, 150)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    rows = [results.get(timeout=5) for _ in range(2 * ROUNDS)]
    by_round: dict[int, list[tuple[int, bool, bool]]] = {}
    for r, who, won, token in rows:
        by_round.setdefault(r, []).append((who, won, token))
    winners_seen = set()
    for r in range(ROUNDS):
        entries = by_round[r]
        assert sum(won for _, won, _ in entries) == 1, f"round {r}: {entries}"
        assert sum(token for _, _, token in entries) == 1, f"round {r}: {entries}"
        winners_seen.update(who for who, won, _ in entries if won)

    repo, engine = await open_repository(empty_db_url)
    try:
        booked = await repo.appointments_between(T0, T0 + timedelta(days=ROUNDS + 1))
    finally:
        await engine.dispose()
    assert len(booked) == ROUNDS
    for a, b in itertools.pairwise(booked):
        assert a.end_at <= b.start_at  # nothing overlaps in the book

"""Calls and what happened in them: the call rows, transcript turns and actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zylin.storage.models import Call, CallAction, CallTurn
from zylin.storage.records import (
    ActionRecord,
    CallDetail,
    CallRecord,
    Page,
    TurnRecord,
    TurnStats,
    to_record,
)
from zylin.storage.store import Store, fetch_page

CALL_FIELDS = frozenset(
    {
        "stream_sid",
        "caller_phone",
        "called_phone",
        "ended_at",
        "end_reason",
        "intent",
        "summary",
        "recording_path",
        "extra",
        "cost_usd",
        "usage",
    }
)
TURN_FIELDS = frozenset(
    {
        "text",
        "heard_text",
        "interrupted",
        "started_at",
        "ended_at",
        "stt_ms",
        "llm_ttfb_ms",
        "tts_ttfb_ms",
        "voice_to_voice_ms",
    }
)


class CallStore(Store):
    """Calls, their transcript and their actions."""

    async def create_call(
        self,
        call_sid: str,
        *,
        started_at: datetime | None = None,
        stream_sid: str | None = None,
        caller_phone: str | None = None,
        called_phone: str | None = None,
    ) -> CallRecord:
        """Record a call starting; idempotent (a second call fills in missing fields only)."""
        async with self._write() as session:
            row = await self._call_row(session, call_sid, create=False)
            if row is None:
                row = Call(call_sid=call_sid, started_at=started_at or self._clock())
                session.add(row)
            for name, value in (
                ("stream_sid", stream_sid),
                ("caller_phone", caller_phone),
                ("called_phone", called_phone),
            ):
                if value is not None and getattr(row, name) is None:
                    setattr(row, name, value)
            await session.flush()
            return to_record(CallRecord, row)

    async def finish_call(
        self, call_sid: str, *, end_reason: str, ended_at: datetime | None = None
    ) -> None:
        """Stamp the end of a call and why it ended."""
        await self.update_call(call_sid, end_reason=end_reason, ended_at=ended_at or self._clock())

    async def update_call(self, call_sid: str, **values: Any) -> None:
        """Set call fields (intent, summary, recording_path, extra, ...) by call SID."""
        unknown = set(values) - CALL_FIELDS
        if unknown:
            raise ValueError(f"not call fields: {sorted(unknown)}")
        async with self._write() as session:
            await session.execute(update(Call).where(Call.call_sid == call_sid).values(**values))

    async def get_call(self, call_id: int) -> CallDetail | None:
        """A call with its turns and actions, by id."""
        async with self._read() as session:
            row = await session.get(Call, call_id)
            return None if row is None else await _detail(session, row)

    async def get_call_by_sid(self, call_sid: str) -> CallDetail | None:
        """A call with its turns and actions, by Twilio call SID."""
        async with self._read() as session:
            row = await self._call_row(session, call_sid, create=False)
            return None if row is None else await _detail(session, row)

    async def list_calls(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        intent: str | None = None,
        caller: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[CallRecord]:
        """Calls newest first, filtered by start time in [start, end), intent and caller number.

        `caller` matches a substring of the caller's number, so "0199" finds "+15550100199".
        """
        query = select(Call)
        if start is not None:
            query = query.where(Call.started_at >= start)
        if end is not None:
            query = query.where(Call.started_at < end)
        if intent:
            query = query.where(Call.intent == intent)
        if caller:
            query = query.where(Call.caller_phone.contains(caller, autoescape=True))
        async with self._read() as session:
            return await fetch_page(
                session,
                query,
                (Call.started_at.desc(), Call.id.desc()),
                CallRecord,
                limit=limit,
                offset=offset,
            )

    async def turn_stats(self, call_ids: Iterable[int]) -> dict[int, TurnStats]:
        """Turn count and mean voice-to-voice for each call id, in one GROUP BY query.

        For a listing page: loading every call's transcript just to count it costs a query
        and all the turn text per call. Ids without turns (or unknown ids) map to
        `TurnStats()`, zero turns and no average.
        """
        ids = sorted(set(call_ids))
        if not ids:
            return {}
        query = (
            select(
                CallTurn.call_id,
                func.count(CallTurn.id),
                func.avg(CallTurn.voice_to_voice_ms),  # AVG skips NULLs: unmeasured turns
            )
            .where(CallTurn.call_id.in_(ids))
            .group_by(CallTurn.call_id)
        )
        async with self._read() as session:
            rows = (await session.execute(query)).all()
        stats = {call_id: TurnStats() for call_id in ids}
        for call_id, count, avg in rows:
            stats[call_id] = TurnStats(int(count), None if avg is None else float(avg))
        return stats

    async def add_turn(self, call_sid: str, *, seq: int, role: str, **values: Any) -> int:
        """Store one transcript turn as soon as it is known; returns its id.

        The call row is created if the server has not written it yet, so nothing is dropped.
        """
        unknown = set(values) - TURN_FIELDS
        if unknown:
            raise ValueError(f"not turn fields: {sorted(unknown)}")
        async with self._write() as session:
            call = await self._call_row(session, call_sid, create=True)
            assert call is not None
            turn = CallTurn(call_id=call.id, seq=seq, role=role, **values)
            session.add(turn)
            await session.flush()
            return turn.id

    async def add_action(
        self, call_sid: str, kind: str, detail: dict[str, Any] | None = None
    ) -> int:
        """Record something the call did (booked, sms_failed, ...); returns the action id."""
        async with self._write() as session:
            call = await self._call_row(session, call_sid, create=True)
            assert call is not None
            action = CallAction(call_id=call.id, kind=kind, detail=detail, created_at=self._clock())
            session.add(action)
            await session.flush()
            return action.id

    async def _call_row(self, session: AsyncSession, call_sid: str, *, create: bool) -> Call | None:
        row = await session.scalar(select(Call).where(Call.call_sid == call_sid))
        if row is None and create:
            row = Call(call_sid=call_sid, started_at=self._clock())
            session.add(row)
            await session.flush()
        return row


async def _detail(session: AsyncSession, row: Call) -> CallDetail:
    turns = await session.scalars(
        select(CallTurn).where(CallTurn.call_id == row.id).order_by(CallTurn.seq)
    )
    actions = await session.scalars(
        select(CallAction).where(CallAction.call_id == row.id).order_by(CallAction.id)
    )
    return CallDetail(
        call=to_record(CallRecord, row),
        turns=[to_record(TurnRecord, t) for t in turns],
        actions=[to_record(ActionRecord, a) for a in actions],
    )

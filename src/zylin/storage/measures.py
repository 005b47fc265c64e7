"""What the owner's success measures read: compact facts about calls, replies and outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select

from zylin.storage.models import Call, CallAction, CallTurn, Escalation, Message
from zylin.storage.records import CallFacts, CallRecord, to_record
from zylin.storage.store import Store


class MeasureStore(Store):
    """Reads for the home page's measures; a small business's month is a few thousand rows."""

    async def call_facts(self, start: datetime, end: datetime) -> list[CallFacts]:
        """Calls that started in [start, end), with whether each one booked an appointment."""
        booked = exists().where(CallAction.call_id == Call.id, CallAction.kind == "booked")
        query = (
            select(
                Call.id,
                Call.started_at,
                Call.ended_at,
                Call.end_reason,
                Call.intent,
                Call.cost_usd,
                booked.label("booked"),
            )
            .where(Call.started_at >= start, Call.started_at < end)
            .order_by(Call.started_at)
        )
        async with self._read() as session:
            rows = (await session.execute(query)).all()
        return [CallFacts(*row) for row in rows]

    async def reply_latencies(self, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        """(call start, voice-to-voice ms) of every measured reply in calls started in the range."""
        query = (
            select(Call.started_at, CallTurn.voice_to_voice_ms)
            .join(Call, Call.id == CallTurn.call_id)
            .where(
                Call.started_at >= start,
                Call.started_at < end,
                CallTurn.role == "assistant",
                CallTurn.voice_to_voice_ms.is_not(None),
            )
        )
        async with self._read() as session:
            rows = (await session.execute(query)).all()
        return [(at, float(ms)) for at, ms in rows if ms is not None]

    async def transfer_times(self, start: datetime, end: datetime) -> list[datetime]:
        """When each call handed to a person was handed over, in [start, end)."""
        query = select(Escalation.created_at).where(
            Escalation.outcome == "transferred",
            Escalation.created_at >= start,
            Escalation.created_at < end,
        )
        async with self._read() as session:
            return list(await session.scalars(query))

    async def message_times(self, start: datetime, end: datetime) -> list[datetime]:
        """When each message for the owner was taken, in [start, end)."""
        query = select(Message.created_at).where(
            Message.created_at >= start, Message.created_at < end
        )
        async with self._read() as session:
            return list(await session.scalars(query))

    async def calls_by_sids(self, call_sids: Iterable[str]) -> list[CallRecord]:
        """The records of these calls (e.g. those in progress), oldest first."""
        sids = sorted(set(call_sids))
        if not sids:
            return []
        query = select(Call).where(Call.call_sid.in_(sids)).order_by(Call.started_at)
        async with self._read() as session:
            return [to_record(CallRecord, r) for r in await session.scalars(query)]

    async def open_calls(self, since: datetime) -> list[CallRecord]:
        """Calls started since `since` and not ended yet (running on any worker), oldest first."""
        query = (
            select(Call)
            .where(Call.ended_at.is_(None), Call.started_at >= since)
            .order_by(Call.started_at)
        )
        async with self._read() as session:
            return [to_record(CallRecord, r) for r in await session.scalars(query)]

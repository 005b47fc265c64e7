"""Requests to reach a human, and what came of each."""

from __future__ import annotations

from sqlalchemy import select, update

from zylin.storage.models import Escalation
from zylin.storage.records import EscalationRecord, to_record
from zylin.storage.store import Store

MAX_REASON = 300  # the column's length


class EscalationStore(Store):
    """Escalations (transferred / message_offered / failed), by call."""

    async def add_escalation(
        self, *, call_sid: str | None, reason: str, outcome: str, source: str = "llm"
    ) -> int:
        """Record a request for a human (outcome transferred / message_offered / failed)."""
        async with self._write() as session:
            row = Escalation(
                call_sid=call_sid,
                reason=reason[:MAX_REASON],
                source=source,
                outcome=outcome,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return row.id

    async def set_escalation_outcome(self, escalation_id: int, outcome: str) -> None:
        """Correct an escalation's outcome (e.g. transferred -> failed when Twilio refused)."""
        async with self._write() as session:
            await session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(outcome=outcome)
            )

    async def escalations_for_call(self, call_sid: str) -> list[EscalationRecord]:
        """A call's escalations, oldest first."""
        async with self._read() as session:
            rows = await session.scalars(
                select(Escalation).where(Escalation.call_sid == call_sid).order_by(Escalation.id)
            )
            return [to_record(EscalationRecord, r) for r in rows]

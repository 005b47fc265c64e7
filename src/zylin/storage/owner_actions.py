"""The owner's audit log: who changed what from the dashboard, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zylin.storage.models import OwnerAction
from zylin.storage.records import OwnerActionRecord, to_record
from zylin.storage.store import Store

MAX_ACTOR = 100  # the column's length


def add_owner_action(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None,
    at: datetime,
) -> None:
    """Add an audit row inside the caller's transaction, so a change and its record go together."""
    session.add(
        OwnerAction(
            actor=actor[:MAX_ACTOR], action=action, target=target, detail=detail, created_at=at
        )
    )


class OwnerActionStore(Store):
    """The audit log; a change's row is written by the store making it, in its transaction."""

    async def record_owner_action(
        self, *, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Audit something that is not a database change of ours (e.g. a text sent)."""
        async with self._write() as session:
            add_owner_action(
                session, actor=actor, action=action, target=target, detail=detail, at=self._clock()
            )

    async def owner_actions(
        self, *, target: str | None = None, limit: int = 50
    ) -> list[OwnerActionRecord]:
        """Newest first; only those about `target` (e.g. "appointment:12") when given."""
        query = select(OwnerAction)
        if target is not None:
            query = query.where(OwnerAction.target == target)
        query = query.order_by(OwnerAction.created_at.desc(), OwnerAction.id.desc()).limit(limit)
        async with self._read() as session:
            return [to_record(OwnerActionRecord, r) for r in await session.scalars(query)]

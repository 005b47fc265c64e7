"""Messages callers leave for the owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from zylin.storage.models import Message
from zylin.storage.owner_actions import add_owner_action
from zylin.storage.records import MessageRecord, Page, to_record
from zylin.storage.store import Store, count_where, fetch_page


class MessageStore(Store):
    """Messages for the owner, newest first."""

    async def add_message(
        self,
        *,
        caller_name: str,
        message: str,
        caller_phone: str | None,
        callback_number: str | None,
        call_sid: str | None = None,
    ) -> MessageRecord:
        """Store a message for the owner."""
        async with self._write() as session:
            row = Message(
                caller_name=caller_name,
                caller_phone=caller_phone,
                callback_number=callback_number,
                message=message,
                call_sid=call_sid,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return to_record(MessageRecord, row)

    async def list_messages(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        unread_first: bool = False,
    ) -> Page[MessageRecord]:
        """Messages newest first, optionally within [start, end); `unread_first` puts the ones
        not yet handled ahead of the rest (each group newest first)."""
        query = select(Message)
        if start is not None:
            query = query.where(Message.created_at >= start)
        if end is not None:
            query = query.where(Message.created_at < end)
        order = (Message.created_at.desc(), Message.id.desc())
        if unread_first:
            order = (Message.handled_at.is_not(None), *order)
        async with self._read() as session:
            return await fetch_page(
                session,
                query,
                order,
                MessageRecord,
                limit=limit,
                offset=offset,
            )

    async def unread_message_count(self) -> int:
        """Messages nobody has marked handled yet."""
        async with self._read() as session:
            return await count_where(session, Message.handled_at.is_(None))

    async def mark_message_handled(self, message_id: int, *, by: str) -> MessageRecord | None:
        """Mark a message handled by `by` (audited); None when there is no such message.

        Marking a handled message again changes nothing: the first owner and time stand.
        """
        async with self._write() as session:
            row = await session.get(Message, message_id)
            if row is None:
                return None
            if row.handled_at is None:
                now = self._clock()
                row.handled_at, row.handled_by = now, by[:100]
                add_owner_action(
                    session,
                    actor=by,
                    action="message_handled",
                    target=f"message:{row.id}",
                    detail={"caller_name": row.caller_name},
                    at=now,
                )
                await session.flush()
            return to_record(MessageRecord, row)

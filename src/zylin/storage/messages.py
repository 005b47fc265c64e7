"""Messages callers leave for the owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from zylin.storage.models import Message
from zylin.storage.records import MessageRecord, Page, to_record
from zylin.storage.store import Store, fetch_page


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
    ) -> Page[MessageRecord]:
        """Messages newest first, optionally within [start, end)."""
        query = select(Message)
        if start is not None:
            query = query.where(Message.created_at >= start)
        if end is not None:
            query = query.where(Message.created_at < end)
        async with self._read() as session:
            return await fetch_page(
                session,
                query,
                (Message.created_at.desc(), Message.id.desc()),
                MessageRecord,
                limit=limit,
                offset=offset,
            )

"""Single-use media-stream token nonces, pruned as they are used."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zylin.storage.models import StreamTokenUse
from zylin.storage.store import Store

# How long a used nonce is remembered. A replay is refused by the token's own expiry long
# before this (settings.stream_token_ttl_secs, 60 s by default), so this only has to stay
# well above that TTL; after it the row is dead weight.
STREAM_TOKEN_RETENTION = timedelta(days=1)
# The most expired nonces one consume deletes, so a backlog never slows a call's start.
PRUNE_BATCH = 500


class StreamTokenStore(Store):
    """The used nonces that make every media-stream token single-use across processes."""

    async def consume_stream_token(self, nonce: str, call_sid: str) -> bool:
        """True the first time a token nonce is presented, False ever after, across processes.

        The INSERT on the primary key is the check: whichever process commits first wins.
        The same transaction forgets nonces older than `STREAM_TOKEN_RETENTION`, so the
        table stays small without a background job.
        """
        now = self._clock()
        try:
            async with self._write() as session:
                session.add(StreamTokenUse(nonce=nonce, call_sid=call_sid, used_at=now))
                await session.flush()
                await _prune(session, now - STREAM_TOKEN_RETENTION, limit=PRUNE_BATCH)
        except IntegrityError:
            return False
        return True

    async def prune_stream_tokens(self, before: datetime) -> int:
        """Forget nonces used before `before` (their tokens have long expired)."""
        async with self._write() as session:
            return await _prune(session, before)


async def _prune(session: AsyncSession, before: datetime, *, limit: int | None = None) -> int:
    """Delete nonces used before `before`, at most `limit` of them.

    SKIP LOCKED (PostgreSQL; SQLite serialises writers anyway) lets two processes prune at
    once without waiting on, or deadlocking over, the rows the other is deleting.
    """
    expired = select(StreamTokenUse.nonce).where(StreamTokenUse.used_at < before)
    if limit is not None:
        expired = expired.order_by(StreamTokenUse.used_at).limit(limit)
    expired = expired.with_for_update(skip_locked=True)
    result = await session.execute(delete(StreamTokenUse).where(StreamTokenUse.nonce.in_(expired)))
    return int(getattr(result, "rowcount", 0) or 0)

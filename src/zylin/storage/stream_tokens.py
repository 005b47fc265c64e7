"""Single-use media-stream token nonces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from zylin.storage.models import StreamTokenUse
from zylin.storage.store import Store


class StreamTokenStore(Store):
    """The used nonces that make every media-stream token single-use across processes."""

    async def consume_stream_token(self, nonce: str, call_sid: str) -> bool:
        """True the first time a token nonce is presented, False ever after, across processes.

        The INSERT on the primary key is the check: whichever process commits first wins.
        """
        try:
            async with self._write() as session:
                session.add(StreamTokenUse(nonce=nonce, call_sid=call_sid, used_at=self._clock()))
                await session.flush()
        except IntegrityError:
            return False
        return True

    async def prune_stream_tokens(self, before: datetime) -> int:
        """Forget nonces used before `before` (their tokens have long expired)."""
        async with self._write() as session:
            result = await session.execute(
                delete(StreamTokenUse).where(StreamTokenUse.used_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)

"""The box's concurrent-call slots, shared by its worker processes: in the database or Redis."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete, func, select, text

from zylin.storage.models import CallSlot
from zylin.storage.store import Store

# Serialises slot reservations on PostgreSQL (SQLite serialises writers by itself).
_PG_SLOTS_LOCK = 0x7A796C696E01


class CallSlots(Protocol):
    """Counts streamed calls across every process that shares the store."""

    async def reserve(self, call_sid: str, *, cap: int, hold_secs: float) -> bool:
        """Take (or renew) `call_sid`'s slot for `hold_secs`; False when `cap` are taken."""
        ...

    async def release(self, call_sid: str) -> None:
        """The call ended: its slot is free."""
        ...

    async def in_use(self) -> int:
        """Slots held now."""
        ...

    async def aclose(self) -> None:
        """Close connections."""
        ...


class DatabaseCallSlots(Store):
    """Slots as `call_slots` rows; a slot nobody renews expires (its worker died)."""

    async def reserve(self, call_sid: str, *, cap: int, hold_secs: float) -> bool:
        now = self._clock()
        async with self._write() as session:
            if (await session.connection()).dialect.name == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SLOTS_LOCK}
                )
            await session.execute(delete(CallSlot).where(CallSlot.expires_at <= now))
            held = await session.get(CallSlot, call_sid)
            if held is None:
                taken = await session.scalar(select(func.count()).select_from(CallSlot))
                if int(taken or 0) >= cap:
                    return False
                held = CallSlot(call_sid=call_sid, expires_at=now)
                session.add(held)
            held.expires_at = now + timedelta(seconds=hold_secs)
        return True

    async def release(self, call_sid: str) -> None:
        async with self._write() as session:
            await session.execute(delete(CallSlot).where(CallSlot.call_sid == call_sid))

    async def in_use(self) -> int:
        async with self._read() as session:
            query = select(func.count()).where(CallSlot.expires_at > self._clock())
            return int(await session.scalar(query.select_from(CallSlot)) or 0)

    async def aclose(self) -> None:
        """The engine is the repository's; nothing of its own to close."""


# KEYS[1] the sorted set (member: call SID, score: expiry); ARGV now, expiry, call SID, cap.
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class RedisCallSlots:
    """Slots as a Redis sorted set scored by expiry, reserved atomically by one Lua script."""

    def __init__(self, url: str, *, key: str = "zylin:call_slots") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._key = key
        self._reserve = self._redis.register_script(_RESERVE)

    async def reserve(self, call_sid: str, *, cap: int, hold_secs: float) -> bool:
        now = time.time()
        taken = await self._reserve(keys=[self._key], args=[now, now + hold_secs, call_sid, cap])
        return bool(taken)

    async def release(self, call_sid: str) -> None:
        await self._redis.zrem(self._key, call_sid)

    async def in_use(self) -> int:
        return int(await self._redis.zcount(self._key, f"({time.time()}", "+inf"))

    async def aclose(self) -> None:
        await self._redis.aclose()

"""Work a call starts that the caller need not wait for (SMS, timers), drained when it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from loguru import logger


class CallTasks:
    """Background work owned by one call.

    `spawn`ed work (an SMS) must not be lost to a hang-up, so `drain` waits for it; timers only
    matter while the call goes on, so `drain` cancels them.
    """

    def __init__(self) -> None:
        self._work: set[asyncio.Task] = set()
        self._timers: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task:
        """Run `coro` in the background; `drain` awaits it at call end."""
        return self._start(coro, name, self._work)

    def start_timer(
        self, delay_secs: float, action: Callable[[], Awaitable[None]], *, name: str
    ) -> asyncio.Task:
        """Run `action` after `delay_secs` unless the call ends first (then it is cancelled)."""

        async def fire() -> None:
            await asyncio.sleep(delay_secs)
            await action()

        return self._start(fire(), name, self._timers)

    async def drain(self, *, timeout_secs: float = 15.0) -> None:
        """At call end: cancel timers, wait for pending work, cancel what overruns."""
        for task in list(self._timers):
            task.cancel()
        work = list(self._work)
        if not work:
            return
        _done, pending = await asyncio.wait(work, timeout=timeout_secs)
        for task in pending:
            logger.warning(f"Background work {task.get_name()} still running at call end: stopped")
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    @staticmethod
    def _start(coro: Coroutine[Any, Any, None], name: str, into: set[asyncio.Task]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(_logged(coro, name), name=name)
        into.add(task)
        task.add_done_callback(into.discard)
        task.add_done_callback(lambda _t: coro.close())  # no "never awaited" if cancelled early
        return task


async def _logged(coro: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # background work must never take the call down
        logger.exception(f"Background work {name} failed: {exc}")

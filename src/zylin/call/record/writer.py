"""Writes a call's records in order, off the audio path, and keeps them through database outages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

Write = Callable[[], Awaitable[Any]]


@dataclass
class _Item:
    what: str
    write: Write
    detail: dict[str, Any] = field(default_factory=dict)


class RecordWriter:
    """One background task per call that performs database writes in the order they were queued.

    The pipeline never waits on the database: it queues a write and goes on. A write that fails
    (database down or locked) is retried with backoff while the call lasts and for a grace
    period after; if it still fails, the record is logged in full as JSON, so nothing is lost
    without a trace and an operator can replay it.
    """

    def __init__(
        self,
        *,
        retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0),
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._retry_delays = retry_delays
        self._on_failure = on_failure
        self._task: asyncio.Task | None = None
        self.failed: list[dict[str, Any]] = []

    def start(self) -> None:
        """Start the writer task (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="call-record-writer"
            )

    def put(self, what: str, write: Write, **detail: Any) -> None:
        """Queue a write; `detail` is what gets logged if it can never be written."""
        self._queue.put_nowait(_Item(what, write, detail))

    async def close(self, timeout_secs: float = 30.0) -> None:
        """Flush everything queued (retrying), then stop; log whatever is still unwritten."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_secs)
        except TimeoutError:
            self._task.cancel()
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    self._give_up(item, "writer timed out at call end")
        self._task = None

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            await self._write(item)

    async def _write(self, item: _Item) -> None:
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            try:
                await item.write()
                if attempt:
                    logger.info(f"Call record '{item.what}' written after {attempt} retries")
                return
            except Exception as exc:  # database down, locked, or refusing
                last = f"{type(exc).__name__}: {exc}"
                if attempt == 0:
                    logger.warning(f"Call record '{item.what}' not written yet ({last}); retrying")
                    if self._on_failure:
                        self._on_failure(item.what)
        self._give_up(item, last)

    def _give_up(self, item: _Item, why: str) -> None:
        record = {"record": item.what, **item.detail}
        self.failed.append(record)
        logger.error(
            f"Call record could not be written ({why}); keeping it in the log: "
            f"{json.dumps(record, default=str)}"
        )

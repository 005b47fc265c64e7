"""The call's clock and event log, with a wake-up for whoever waits on something to happen."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallEvent:
    """One thing that happened, `t` seconds after `start` was sent (negative before it)."""

    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Pulse:
    """Wakes every waiter when something changed; each waiter then re-checks its own condition.

    One pulse serves all waits (bot audio, silence, events), so the code that changes the
    state only has to say "changed", not know who is waiting for what.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next change."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - a bound
        """Wait for the next change or `timeout` seconds; True if something changed."""
        event = self._event
        if timeout is not None and timeout <= 0:
            await asyncio.sleep(0)
            return False
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Timeline:
    """Seconds on the call's timeline (0 = `start` sent) from the loop's monotonic clock."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.changed = Pulse()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0

    def begin(self) -> None:
        """Start the clock on the running loop (0 = now until `rebase`)."""
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()

    @property
    def started(self) -> bool:
        """Whether `begin` ran (the call was placed)."""
        return self._loop is not None

    def now(self) -> float:
        """Seconds since timeline 0."""
        assert self._loop is not None, "call not connected"
        return self._loop.time() - self._origin

    def rebase(self) -> None:
        """Move timeline 0 to now (stream start), shifting the events recorded so far."""
        shift = self.now()
        self._origin += shift
        for event in self.events:
            event.t -= shift

    def record(self, kind: str, **data: Any) -> CallEvent:
        """Log an event now and wake the waiters."""
        event = CallEvent(self.now(), kind, data)
        self.events.append(event)
        self.changed.fire()
        return event

    def of(self, kind: str) -> list[CallEvent]:
        """The events of one kind, in order."""
        return [e for e in self.events if e.kind == kind]

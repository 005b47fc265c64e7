"""Waiting for the bot: its audio, its silence, an event; woken by each change, not by polling."""

# Waits take a plain `timeout=` (the API tests read best); ASYNC109 prefers asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio

from devtools.caller.errors import CallClosed
from devtools.caller.playout import Playout
from devtools.caller.timeline import CallEvent, Timeline


async def bot_audio(
    timeline: Timeline, playout: Playout, closed: asyncio.Event, since: float, timeout: float
) -> float:
    """Arrival time of the first bot `media` at or after `since`."""
    deadline = timeline.now() + timeout
    while True:
        first = playout.first_media_after(since)
        if first is not None:
            return first
        if closed.is_set():
            raise CallClosed("the call closed before the bot spoke")
        remaining = deadline - timeline.now()
        if remaining < 0:
            raise TimeoutError(f"no bot audio within {timeout} s")
        await timeline.changed.wait(remaining + 0.001)


async def bot_silence(
    timeline: Timeline,
    playout: Playout,
    closed: asyncio.Event,
    since: float,
    ms: float,
    timeout: float,
) -> float:
    """When the bot's voice after `since` ended, once `ms` of played silence followed it.

    Besides changes (more audio, a `clear`), the wait wakes when the silence would be
    complete: that moment is known from the playout, so nothing needs to poll for it.
    """
    deadline = timeline.now() + timeout
    while True:
        end = playout.last_voiced_end(since)
        now = timeline.now()
        if end is not None and now - end >= ms / 1000:
            return end
        if closed.is_set():
            if end is not None:
                return end
            raise CallClosed("the call closed before the bot spoke")
        if now > deadline:
            raise TimeoutError(f"bot did not finish speaking within {timeout} s")
        wake = deadline - now + 0.001
        if end is not None:
            wake = min(wake, end + ms / 1000 - now)
        await timeline.changed.wait(wake)


async def event(
    timeline: Timeline, closed: asyncio.Event, kind: str, after: int, timeout: float
) -> CallEvent:
    """The first event of `kind` at index `after` or later in the timeline's log."""
    deadline = timeline.now() + timeout
    while True:
        for candidate in timeline.events[after:]:
            if candidate.kind == kind:
                return candidate
        remaining = deadline - timeline.now()
        if remaining < 0:
            raise TimeoutError(f"no {kind!r} event within {timeout} s")
        if closed.is_set() and kind != "closed":
            raise CallClosed(f"the call closed before a {kind!r} event")
        await timeline.changed.wait(remaining + 0.001)

"""Runs work once the caller has heard a line Zylin says, not merely once it was sent."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import DataFrame, EndWorkerFrame, Frame, SystemFrame, TTSSpeakFrame

from zylin.call.tasks import CallTasks
from zylin.end_reason import CallEnd, EndReason

Action = Callable[[], Awaitable[None]]
PushFrame = Callable[[Frame], Awaitable[None]]
# An ending waits for Twilio's mark echo so the hang-up does not cut the goodbye's last words.
# Without an echo the end frame still queues behind the goodbye, so this only bounds the wait.
ENDING_FALLBACK_SECS = 5.0


@dataclass
class HeardProbeFrame(DataFrame):
    """Travels right behind a line, in order with it through the TTS; the playback-marks
    processor turns it into a Twilio mark of its own (`heard-<probe_id>`)."""

    probe_id: int = 0


@dataclass
class ProbeHeardFrame(SystemFrame):
    """Goes upstream when Twilio echoes a probe's mark: everything before it was played."""

    probe_id: int = 0


class AfterHeard:
    """The one "after what is playing has been heard" helper.

    Twilio queues our audio and plays it later, so "sent" is not "heard". `after` pushes a
    probe frame right behind the line the same processor just pushed; the probe becomes a
    Twilio mark, and when Twilio echoes that mark the caller has heard the line, and the action
    runs, at most once. An echo of an earlier line's mark does not count. Used by the transfer
    (its REST update must not cut off "connecting you"), end call, and the silence, length and
    shutdown goodbyes (the call must not end mid-word).

    A fallback timer covers a probe that never comes back (dropped by a barge-in, or a client
    that does not echo marks), so a hand-off or an ending can never be left hanging.
    """

    def __init__(self, tasks: CallTasks) -> None:
        self._tasks = tasks
        self._waiting: dict[int, Action] = {}
        self._ids = itertools.count(1)

    @property
    def waiting(self) -> int:
        """How many actions wait for their line to be heard."""
        return len(self._waiting)

    async def after(
        self,
        push_frame: PushFrame,
        action: Action,
        *,
        fallback_secs: float,
        name: str,
        fallback: Action | None = None,
    ) -> None:
        """Run `action` once what `push_frame`'s processor pushed before now has been heard, or
        `fallback` (default `action`) if that is not known within `fallback_secs`."""
        probe = next(self._ids)
        done = False

        async def once(chosen: Action) -> None:
            nonlocal done
            if done:
                return
            done = True
            if timer is not asyncio.current_task():  # never cancel the timer from inside itself
                timer.cancel()
            await chosen()

        async def on_heard() -> None:
            await once(action)

        async def on_timeout() -> None:
            if done:
                return
            logger.info(f"Playback not confirmed within {fallback_secs:.0f} s: running {name}")
            self._waiting.pop(probe, None)
            await once(fallback or action)

        self._waiting[probe] = on_heard
        timer = self._tasks.start_timer(fallback_secs, on_timeout, name=f"{name}-fallback")
        await push_frame(HeardProbeFrame(probe_id=probe))

    async def heard(self, probe_id: int) -> None:
        """Twilio echoed probe `probe_id`: run what waited for it."""
        action = self._waiting.pop(probe_id, None)
        if action is None:
            return
        try:
            await action()
        except Exception as exc:  # a failed hand-off is logged; the call goes on
            logger.error(f"After-heard action failed: {exc}")


async def say_goodbye(
    heard: AfterHeard,
    end: CallEnd,
    reason: EndReason,
    line: str,
    push_frame: PushFrame,
    *,
    fallback_secs: float = ENDING_FALLBACK_SECS,
) -> None:
    """Note `reason`, say `line` through `push_frame`, and end the call once the caller has
    heard it; the end frame travels behind the line either way."""
    end.note(reason)
    await push_frame(TTSSpeakFrame(line))

    async def finish() -> None:
        await push_frame(EndWorkerFrame(reason=reason.value))

    await heard.after(push_frame, finish, fallback_secs=fallback_secs, name=f"end-{reason.value}")

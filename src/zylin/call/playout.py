"""Runs work once the caller has heard what Zylin is saying now, not merely once it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import EndWorkerFrame, Frame

from zylin.call.tasks import CallTasks
from zylin.end_reason import CallEnd, EndReason

Action = Callable[[], Awaitable[None]]
PushFrame = Callable[[Frame], Awaitable[None]]
# An ending waits for Twilio's mark echo so the hang-up does not cut the goodbye's last words.
# Without an echo the end frame still queues behind the goodbye, so this only bounds the wait.
ENDING_FALLBACK_SECS = 5.0


class AfterHeard:
    """The one "after what is playing has been heard" helper.

    Twilio queues our audio and plays it later, so "sent" is not "heard". The pipeline calls
    `heard()` when Twilio echoes the mark after the newest audio; work queued with `then` runs
    at that moment, at most once. Used by the transfer (its REST update must not cut off
    "connecting you"), end call and the silence and length goodbyes (the call must not end
    mid-word).

    A fallback timer covers playback that never reports back (no audio, or a client that
    does not echo marks), so a hand-off or an ending can never be left hanging.
    """

    def __init__(self, tasks: CallTasks) -> None:
        self._tasks = tasks
        self._waiting: list[Action] = []

    def then(
        self,
        action: Action,
        *,
        fallback_secs: float,
        name: str,
        fallback: Action | None = None,
    ) -> None:
        """Run `action` after the current playback is heard, or `fallback` (default `action`)
        if nothing is heard within `fallback_secs`."""
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
            logger.info(f"No playback ended within {fallback_secs:.0f} s: running {name} anyway")
            if on_heard in self._waiting:
                self._waiting.remove(on_heard)
            await once(fallback or action)

        self._waiting.append(on_heard)
        timer = self._tasks.start_timer(fallback_secs, on_timeout, name=f"{name}-fallback")

    @property
    def waiting(self) -> int:
        """How many actions wait for the caller to hear the current playback."""
        return len(self._waiting)

    async def heard(self) -> None:
        """Everything sent so far has played: run what waited for it, in order."""
        waiting, self._waiting = self._waiting, []
        for action in waiting:
            try:
                await action()
            except Exception as exc:  # a failed hand-off is logged; the call goes on
                logger.error(f"After-speech action failed: {exc}")


def end_after_heard(
    heard: AfterHeard,
    end: CallEnd,
    reason: EndReason,
    push_frame: PushFrame,
    *,
    fallback_secs: float = ENDING_FALLBACK_SECS,
) -> None:
    """Note `reason` and end the call once the caller has heard what was queued before this.

    `push_frame` is the pushing processor's, so the end frame travels behind the goodbye.
    """
    end.note(reason)

    async def finish() -> None:
        await push_frame(EndWorkerFrame(reason=reason.value))

    heard.then(finish, fallback_secs=fallback_secs, name=f"end-{reason.value}")

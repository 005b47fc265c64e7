"""Work a tool starts that the caller need not wait for (SMS), tracked per call, drained at end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from loguru import logger

from zylin.call.context import CallResources

# Keys in `CallResources.extras` (the per-call object; no module-level state).
TASKS_KEY = "tool_tasks"  # awaited at call end (an SMS must not be lost to a hang-up)
TIMERS_KEY = "tool_timers"  # cancelled at call end (fallbacks that only matter mid-call)


def spawn(resources: CallResources, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task:
    """Run `coro` in the background for this call; `drain_background` awaits it at call end."""
    tasks: set[asyncio.Task] = resources.extras.setdefault(TASKS_KEY, set())
    task = asyncio.get_running_loop().create_task(_logged(coro, name), name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(lambda _t: coro.close())  # no "never awaited" if cancelled early
    return task


def start_timer(
    resources: CallResources, delay_secs: float, action: Callable[[], Awaitable[None]], *, name: str
) -> asyncio.Task:
    """Run `action` after `delay_secs` unless the call ends first (then it is cancelled)."""

    async def fire() -> None:
        await asyncio.sleep(delay_secs)
        await action()

    timers: set[asyncio.Task] = resources.extras.setdefault(TIMERS_KEY, set())
    coro = fire()
    task = asyncio.get_running_loop().create_task(_logged(coro, name), name=name)
    task.add_done_callback(lambda _t: coro.close())
    timers.add(task)
    task.add_done_callback(timers.discard)
    return task


async def drain_background(resources: CallResources, *, timeout_secs: float = 15.0) -> None:
    """Call at call end: cancel timers, wait for pending work (SMS), cancel what overruns."""
    for task in list(resources.extras.get(TIMERS_KEY, ())):
        task.cancel()
    tasks = list(resources.extras.get(TASKS_KEY, ()))
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=timeout_secs)
    for task in pending:
        logger.warning(f"Background work {task.get_name()} still running at call end: cancelled")
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def _logged(coro: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # background work must never take the call down
        logger.exception(f"Background work {name} failed: {exc}")


def queue_after_speech(
    resources: CallResources,
    action: Callable[[], Awaitable[None]],
    *,
    fallback_secs: float,
    name: str,
    fallback: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run `action` once Zylin's current words have played (the pipeline drains
    `resources.after_speech` on Twilio's playback mark), at most once.

    If no playback ends within `fallback_secs` (the LLM said nothing after the tool), the timer
    runs `fallback` (default: `action`) instead, so a hand-off can never be left hanging.
    """
    done = False

    async def once(chosen: Callable[[], Awaitable[None]]) -> None:
        nonlocal done
        if done:
            return
        done = True
        if timer is not asyncio.current_task():  # never cancel the timer from inside itself
            timer.cancel()
        await chosen()

    async def on_speech_end() -> None:
        await once(action)

    async def on_timeout() -> None:
        if done:
            return
        logger.info(f"No playback ended within {fallback_secs:.0f} s: running {name} anyway")
        with contextlib.suppress(ValueError):
            resources.after_speech.remove(on_speech_end)
        await once(fallback or action)

    resources.after_speech.append(on_speech_end)
    timer = start_timer(resources, fallback_secs, on_timeout, name=f"{name}-fallback")

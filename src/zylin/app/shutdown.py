"""SIGTERM without dropping a caller: no new calls, those in progress finish, then a goodbye."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from loguru import logger

from zylin.state import AppState

# After the goodbye, how long calls get to hear it and close before the server stops anyway.
GOODBYE_SECS = 15.0


class GracefulShutdown:
    """Replaces the server's SIGTERM handler (uvicorn's) for as long as the app runs.

    On SIGTERM the worker takes no new calls (the webhook answers with the legacy path, the
    media WebSocket is refused), lets calls in progress go on for up to `grace_secs`, then
    ends the rest politely (`shutdown_goodbye`, end reason `shutdown`). Each call's record is
    closed by its own session as it ends. Then the server's own handler runs, and it stops.
    """

    def __init__(self, state: AppState, grace_secs: float) -> None:
        self._state = state
        self._grace = grace_secs
        self._previous: Any = None
        self._task: asyncio.Task[None] | None = None

    def install(self) -> None:
        """Take SIGTERM over from the server (call from the running loop's thread)."""
        self._previous = signal.getsignal(signal.SIGTERM)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        """Give SIGTERM back to the server."""
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGTERM)
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _on_sigterm(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        await self.drain()
        self.uninstall()
        if callable(self._previous):
            self._previous(signal.SIGTERM, None)  # uvicorn's handler: stop serving and exit
        else:
            signal.raise_signal(signal.SIGTERM)

    async def drain(self) -> None:
        """Stop taking calls, wait out the grace period, then end what is left politely."""
        state = self._state
        state.draining = True
        logger.warning(
            f"Shutting down: no new calls; {len(state.active_calls)} in progress may go on "
            f"for up to {self._grace:.0f} s"
        )
        if not await state.until_no_calls(self._grace):
            logger.warning(f"Ending {len(state.active_calls)} call(s) for the shutdown")
            for call in list(state.active_calls.values()):
                with contextlib.suppress(Exception):
                    await call.end_for_shutdown()
            if not await state.until_no_calls(GOODBYE_SECS):
                logger.error(f"{len(state.active_calls)} call(s) did not end; stopping anyway")
        logger.info("No calls in progress: stopping")

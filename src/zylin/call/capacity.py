"""The box's concurrent-call cap, held across worker processes, and what shutdown asks of a call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from loguru import logger
from pipecat.pipeline.worker import PipelineWorker

from zylin.call.context import CallContext
from zylin.end_reason import EndReason
from zylin.state import AppState

# A live call renews its slot this often, for this long: a worker that dies frees its slots
# within SLOT_HOLD_SECS.
SLOT_RENEW_SECS = 30.0
SLOT_HOLD_SECS = 90.0


async def reserve_slot(state: AppState, call_sid: str, *, hold_secs: float) -> bool:
    """Take `call_sid`'s slot (or renew it); False when the box is at `MAX_CONCURRENT_CALLS`.

    A broken count (its store is down) lets the call through: the cap protects call quality,
    and refusing every caller would be worse than a few too many.
    """
    try:
        return await state.slots.reserve(
            call_sid, cap=state.settings.max_concurrent_calls, hold_secs=hold_secs
        )
    except Exception as exc:
        logger.warning(f"Call slot not checked ({type(exc).__name__}: {exc}); letting it through")
        state.metrics.service_error("call_slots")
        return True


async def release_slot(state: AppState, call_sid: str) -> None:
    """The call ended; its slot goes back (or expires, if the store is away)."""
    try:
        await state.slots.release(call_sid)
    except Exception as exc:
        logger.warning(f"Call slot not released ({type(exc).__name__}); it expires by itself")


async def renew_slots(state: AppState) -> None:
    """Keep this process's live calls' slots held; runs as long as the server does."""
    while True:
        await asyncio.sleep(SLOT_RENEW_SECS)
        for call_sid in list(state.active_calls):
            await reserve_slot(state, call_sid, hold_secs=SLOT_HOLD_SECS)


@dataclass
class StreamedCall:
    """A call in `AppState.active_calls`: what shutdown needs to end it politely."""

    ctx: CallContext
    worker: PipelineWorker

    async def end_for_shutdown(self) -> None:
        """Say the shutdown goodbye, then end once it was heard (`EndReason.SHUTDOWN`)."""
        if self.ctx.ending:
            return
        self.ctx.ending = True
        line = self.ctx.lines["shutdown_goodbye"]
        await self.ctx.say_goodbye(EndReason.SHUTDOWN, line, self.worker.queue_frame)

"""The caller's turns and what the bot did around each one (reply times, clears, talk-over)."""

# Waits take a plain `timeout=` (the API tests read best); ASYNC109 prefers asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from devtools.caller.errors import CallClosed


@dataclass
class CallTurn:
    """One caller utterance and what the bot did around it (times on the call timeline)."""

    index: int
    label: str
    voiced: bool = True
    started_at: float | None = None
    last_voiced_at: float | None = None
    ended_at: float | None = None
    first_reply_at: float | None = None
    clears: int = 0
    media_while_speaking: int = 0
    stale_media: int = 0
    bot_text: str | None = None

    @property
    def voice_to_voice_ms(self) -> float | None:
        """Last voiced caller frame sent -> first bot `media` received after it."""
        if self.last_voiced_at is None or self.first_reply_at is None:
            return None
        return (self.first_reply_at - self.last_voiced_at) * 1000.0


class Turns:
    """Every turn in order, the one being spoken now, and a future per turn still to finish."""

    def __init__(self) -> None:
        self.all: list[CallTurn] = []
        self.current: CallTurn | None = None
        self._done: dict[int, asyncio.Future[CallTurn]] = {}

    def add(self, label: str, *, voiced: bool, queued: bool) -> CallTurn:
        """A new turn; `queued` ones get a future that resolves when their last frame is sent."""
        turn = CallTurn(index=len(self.all), label=label, voiced=voiced)
        self.all.append(turn)
        if queued:
            self._done[turn.index] = asyncio.get_running_loop().create_future()
        return turn

    def begin(self, turn: CallTurn, at: float) -> None:
        """Its first frame went out: it is the turn the bot's audio is now judged against."""
        turn.started_at = at
        self.current = turn

    def finish(self, turn: CallTurn, at: float) -> None:
        """Its last frame went out: whoever awaits the turn may go on."""
        turn.ended_at = at
        future = self._done.get(turn.index)
        if future is not None and not future.done():
            future.set_result(turn)

    def on_bot_media(self, t: float) -> None:
        """Bot audio arrived at `t`: talk-over while the caller speaks, else maybe the reply."""
        turn = self.current
        if turn is None or turn.started_at is None:
            return
        if turn.last_voiced_at is None and turn.voiced:
            turn.media_while_speaking += 1
            if turn.clears:
                turn.stale_media += 1
        elif turn.first_reply_at is None and turn.last_voiced_at is not None:
            turn.first_reply_at = t

    def on_clear(self) -> None:
        """The bot cleared its audio before replying to the current turn (a barge-in)."""
        if self.current is not None and self.current.first_reply_at is None:
            self.current.clears += 1

    def fail_pending(self) -> None:
        """The call closed: turns still queued will never be sent."""
        for future in self._done.values():
            if not future.done():
                future.set_exception(CallClosed("the call closed before the turn was sent"))
                future.exception()  # mark retrieved: nobody may be awaiting it

    async def wait_done(self, turn: CallTurn, timeout: float | None = None) -> CallTurn:
        """Wait until `turn`'s last frame was sent; `CallClosed` if the call ended first."""
        future = self._done.get(turn.index)
        if future is None:
            return turn
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    def default_since(self, now: float) -> float:
        """Default start for waits: after the latest turn's voice, else the call start."""
        if not self.all:
            return -math.inf
        turn = self.all[-1]
        for t in (turn.last_voiced_at, turn.ended_at, turn.started_at):
            if t is not None:
                return t
        return now

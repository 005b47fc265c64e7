"""Twilio's playout of the bot's audio: queued in order at real-time rate, marks echoed when
their audio has played, `clear` dropping what has not."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

import numpy as np

from devtools.caller.audio import FRAME_SAMPLES, RATE, frame_rms
from devtools.caller.timeline import Timeline

# A new "bot_audio" event when media arrives after the playback queue ran dry this long.
_BURST_GAP_SAMPLES = int(0.2 * RATE)


class Playout:
    """What the caller hears, on the call timeline, and the marks still waiting to be echoed.

    Positions are sample indexes at 8 kHz from timeline 0: received audio plays from the
    later of "now" and the end of what is already queued.
    """

    def __init__(self, timeline: Timeline, voiced_rms: float) -> None:
        self.track = bytearray()  # what was (or will be) played, 16-bit PCM from timeline 0
        self.media_times: list[float] = []  # arrival time of every bot `media`
        self.dry_secs: list[float] = []  # per `media`: how long playback had run dry before it
        self.voiced: list[tuple[int, int]] = []  # [start, end) sample spans above voiced_rms
        self.cursor = 0  # sample index where the next received audio will play
        self._timeline = timeline
        self._voiced_rms = voiced_rms
        self._marks: deque[tuple[float, str]] = deque()
        self._marks_changed = asyncio.Event()

    def receive(self, pcm: bytes, t: float) -> None:
        """Queue audio that arrived at `t` behind what is already queued (Twilio's rule)."""
        now_pos = max(0, int(t * RATE))
        start = max(self.cursor, now_pos)
        if not self.media_times or now_pos - self.cursor >= _BURST_GAP_SAMPLES:
            self._timeline.record("bot_audio", first=not self.media_times)
        self.media_times.append(t)
        self.dry_secs.append(max(0, now_pos - self.cursor) / RATE)
        if len(self.track) < start * 2:
            self.track += bytes(start * 2 - len(self.track))
        del self.track[start * 2 :]
        self.track += pcm
        self.cursor = start + len(pcm) // 2
        self._add_voiced(start, pcm)
        self._timeline.changed.fire()

    def _add_voiced(self, start: int, pcm: bytes) -> None:
        n = len(pcm) // 2
        for i in np.flatnonzero(frame_rms(pcm) > self._voiced_rms):
            a = start + int(i) * FRAME_SAMPLES
            b = min(a + FRAME_SAMPLES, start + n)
            if self.voiced and self.voiced[-1][1] >= a:
                self.voiced[-1] = (self.voiced[-1][0], b)
            else:
                self.voiced.append((a, b))

    def add_mark(self, name: str) -> None:
        """A mark is due when the audio queued before it has finished playing."""
        due = self.cursor / RATE
        self._timeline.record("mark", name=name, due=due)
        self._marks.append((due, name))
        self._marks_changed.set()

    def clear(self, t: float) -> list[str]:
        """Drop queued-but-unplayed audio at `t`; returns the pending marks, now all due."""
        now_pos = max(0, int(t * RATE))
        dropped = max(0, self.cursor - now_pos)
        del self.track[now_pos * 2 :]
        self.cursor = min(self.cursor, now_pos)
        self.voiced = [(a, min(b, now_pos)) for a, b in self.voiced if a < now_pos]
        self._timeline.record("clear", dropped_ms=dropped * 1000 // RATE)
        pending = [name for _due, name in self._marks]
        self._marks.clear()
        self._marks_changed.set()
        return pending

    async def echo_marks(self, echo: Callable[[str], Awaitable[None]]) -> None:
        """Echo marks in order, each when playback reaches it (runs until cancelled)."""
        while True:
            if not self._marks:
                self._marks_changed.clear()
                await self._marks_changed.wait()
                continue
            due, name = self._marks[0]
            delay = due - self._timeline.now()
            if delay > 0:
                self._marks_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._marks_changed.wait(), delay)
                continue
            self._marks.popleft()
            await echo(name)

    # --- what the caller heard ---------------------------------------------------------------

    def first_media_after(self, since: float) -> float | None:
        """Arrival time of the first bot `media` at or after `since`."""
        i = bisect.bisect_left(self.media_times, since)
        return self.media_times[i] if i < len(self.media_times) else None

    def last_voiced_end(self, since: float) -> float | None:
        """When the bot's latest voice ends (may be ahead of now), if it ends after `since`."""
        if self.voiced and self.voiced[-1][1] > since * RATE:
            return self.voiced[-1][1] / RATE
        return None

    def audio(self, start: float | None = None, end: float | None = None) -> bytes:
        """The played track, optionally a time slice."""
        a = 0 if start is None else max(0, int(start * RATE)) * 2
        b = len(self.track) if end is None else max(0, int(end * RATE)) * 2
        return bytes(self.track[a:b])

    def segments(self, gap_ms: float, since: float) -> list[tuple[float, float]]:
        """Voiced spans after `since`, joined across gaps under `gap_ms`."""
        gap = gap_ms / 1000 * RATE
        out: list[list[float]] = []
        for a, b in self.voiced:
            if b <= since * RATE:
                continue
            if out and a - out[-1][1] * RATE < gap:
                out[-1][1] = b / RATE
            else:
                out.append([a / RATE, b / RATE])
        return [(a, b) for a, b in out]

"""What a simulated call has recorded on its timeline, and the waits on it, read-only."""

# Waits take a plain `timeout=` (the API tests read best); ASYNC109 prefers asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from pathlib import Path

from devtools.caller import waits
from devtools.caller.audio import save_stereo_wav
from devtools.caller.playout import Playout
from devtools.caller.timeline import CallEvent, Timeline
from devtools.caller.turns import CallTurn, Turns


class RecordedCall:
    """Both sides of a call on one timeline: events, turns, audio; and waits on what comes.

    The half of `SimulatedCall` that only observes, kept apart from the half that drives
    the network so each stays readable.
    """

    def __init__(self, voiced_rms: float) -> None:
        self.voiced_rms = voiced_rms
        self._timeline = Timeline()
        self._turns = Turns()
        self._playout = Playout(self._timeline, voiced_rms)
        self._caller_track = bytearray()  # what the caller sent, 16-bit PCM from timeline 0
        self._closed = asyncio.Event()

    # --- results ---------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the call timeline (0 = `start` sent), from the loop's monotonic clock."""
        return self._timeline.now()

    @property
    def events(self) -> list[CallEvent]:
        """Everything that happened, in order (`webhook`, `start_sent`, `mark`, `clear`, ...)."""
        return self._timeline.events

    def events_of(self, kind: str) -> list[CallEvent]:
        """The events of one kind, in order (`clear`, `mark`, `mark_echo`, `dtmf_sent`, ...)."""
        return self._timeline.of(kind)

    @property
    def turns(self) -> list[CallTurn]:
        """The caller's turns, in order."""
        return self._turns.all

    @property
    def media_received(self) -> int:
        """How many bot `media` messages arrived."""
        return len(self._playout.media_times)

    @property
    def media_arrivals(self) -> list[float]:
        """When each bot `media` arrived, in order (pacing and gap analysis)."""
        return list(self._playout.media_times)

    @property
    def media_dry_secs(self) -> list[float]:
        """Per bot `media`: the silence the caller heard before it because playback ran dry."""
        return list(self._playout.dry_secs)

    @property
    def first_audio_at(self) -> float | None:
        """When the first bot `media` arrived (the greeting), or None."""
        return self._playout.media_times[0] if self._playout.media_times else None

    @property
    def closed(self) -> bool:
        """Whether the media stream is closed (by either side)."""
        return self._closed.is_set()

    @property
    def stale_media(self) -> int:
        """Bot `media` received after a `clear` while the caller was still talking, all turns."""
        return sum(t.stale_media for t in self._turns.all)

    # --- waiting ---------------------------------------------------------------------------

    def _since(self, since: float | None) -> float:
        """Default start for waits: after the caller's latest turn's voice, else call start."""
        return self._turns.default_since(self.now()) if since is None else since

    async def wait_for_bot_audio(self, timeout: float = 10.0, since: float | None = None) -> float:
        """Wait for a bot `media` received after `since` (default: the caller's last turn).

        Returns its arrival time; `TimeoutError` or `CallClosed` if none comes.
        """
        since = self._since(since)
        return await waits.bot_audio(self._timeline, self._playout, self._closed, since, timeout)

    async def wait_for_bot_silence(
        self, ms: float = 800, timeout: float = 30.0, since: float | None = None
    ) -> float:
        """Wait until the bot has spoken after `since` and then played no voice for `ms`.

        Silence is judged on the playback timeline (queued audio counts as still talking),
        so it means the caller has *heard* the whole reply. Returns when the voice ended.
        """
        return await waits.bot_silence(
            self._timeline, self._playout, self._closed, self._since(since), ms, timeout
        )

    async def wait_for_reply(
        self,
        timeout: float = 15.0,
        silence_ms: float = 800,
        since: float | None = None,
        max_reply_secs: float = 60.0,
    ) -> tuple[float, float]:
        """Wait for the bot's next utterance to start and finish; returns (start, end).

        `timeout` bounds the wait for the first audio; `max_reply_secs` bounds how long the
        reply itself may go on before it counts as never finishing.
        """
        start = self._since(since)
        first = await self.wait_for_bot_audio(timeout, since=start)
        remaining = max_reply_secs + silence_ms / 1000 - (self.now() - first)
        end = await self.wait_for_bot_silence(silence_ms, max(0.0, remaining), since=start)
        return first, end

    async def wait_for_event(self, kind: str, timeout: float = 10.0, after: int = 0) -> CallEvent:
        """Wait for the first event of `kind` at index `after` or later in `events`."""
        return await waits.event(self._timeline, self._closed, kind, after, timeout)

    # --- recordings ------------------------------------------------------------------------

    def caller_audio(self) -> bytes:
        """Everything the caller sent, 8 kHz 16-bit mono, from timeline 0."""
        return bytes(self._caller_track)

    def bot_audio(self, start: float | None = None, end: float | None = None) -> bytes:
        """What the caller heard from the bot (8 kHz 16-bit mono), optionally a time slice."""
        return self._playout.audio(start, end)

    def bot_segments(self, gap_ms: float = 600, since: float = 0.0) -> list[tuple[float, float]]:
        """Bot utterances on the timeline: voiced spans joined across gaps under `gap_ms`."""
        return self._playout.segments(gap_ms, since)

    def save_wav(self, path: str | Path) -> Path:
        """Save the call as stereo 8 kHz WAV: left = caller, right = Zylin, one timeline."""
        save_stereo_wav(path, bytes(self._caller_track), bytes(self._playout.track))
        return Path(path)

"""Sends Twilio `mark`s after each bot utterance and each probe, and reports their echoes."""

from __future__ import annotations

from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    OutputTransportMessageFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from processors.frames import PlaybackFinishedFrame
from zylin.call.playout import HeardProbeFrame, ProbeHeardFrame
from zylin.telephony.media_stream.frames import TwilioMarkFrame

PROBE_PREFIX = "heard-"


class PlaybackMarks(FrameProcessor):
    """Place right before `transport.output()`.

    Audio sent to Twilio is queued and played later, so "sent" is not "heard". After each
    utterance's audio we queue a mark; Twilio echoes it when playback reaches it (or at once
    when a `clear` dropped the audio). When the newest mark comes back, everything has been
    heard, and a `PlaybackFinishedFrame` goes upstream to whoever starts timers.

    A `HeardProbeFrame` (pushed right behind one line, see `zylin.call.playout.AfterHeard`)
    becomes a mark of its own; its echo goes upstream as a `ProbeHeardFrame`.
    """

    def __init__(self, stream_sid: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._stream_sid = stream_sid
        self._sent = 0
        self._newest: str | None = None
        self._cleared = False

    @property
    def pending(self) -> bool:
        """Whether a mark we sent has not come back yet."""
        return self._newest is not None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Queue a mark after each utterance; turn the newest echo into PlaybackFinished."""
        await super().process_frame(frame, direction)
        if isinstance(frame, TwilioMarkFrame):
            probe = frame.mark_name.removeprefix(PROBE_PREFIX)
            if frame.mark_name.startswith(PROBE_PREFIX) and probe.isdigit():
                heard = ProbeHeardFrame(probe_id=int(probe))
                await self.push_frame(heard, FrameDirection.UPSTREAM)
            else:
                await self._on_echo(frame.mark_name)
            return
        if isinstance(frame, HeardProbeFrame):
            await self._mark(f"{PROBE_PREFIX}{frame.probe_id}")
            return
        if isinstance(frame, InterruptionFrame):
            self._cleared = True
        await self.push_frame(frame, direction)
        if isinstance(frame, TTSStoppedFrame) and direction == FrameDirection.DOWNSTREAM:
            self._sent += 1
            self._newest = f"utterance-{self._sent}"
            self._cleared = False
            await self._mark(self._newest)

    async def _mark(self, name: str) -> None:
        message = {"event": "mark", "streamSid": self._stream_sid, "mark": {"name": name}}
        await self.push_frame(OutputTransportMessageFrame(message=message))

    async def _on_echo(self, name: str) -> None:
        if name != self._newest:
            return
        self._newest = None
        await self.push_frame(
            PlaybackFinishedFrame(interrupted=self._cleared), FrameDirection.UPSTREAM
        )

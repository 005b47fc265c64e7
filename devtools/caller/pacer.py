"""The caller's outgoing audio in real time: a 20 ms frame every 20 ms, speech or silence."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed

from devtools.caller.audio import FRAME_BYTES_PCM, FRAME_SAMPLES, MULAW_SILENCE, RATE, mulaw_encode
from devtools.caller.timeline import Timeline
from devtools.caller.turns import CallTurn, Turns

FRAME_SECS = FRAME_SAMPLES / RATE


@dataclass
class Utterance:
    """Caller audio waiting in the send queue, cut into 20 ms frames."""

    pcm: bytes
    turn: CallTurn
    last_voiced: int  # index of the last frame above the voice threshold, -1 if none
    pos: int = 0

    @property
    def frames(self) -> int:
        """How many 20 ms frames it takes (the last one padded)."""
        return math.ceil(len(self.pcm) / FRAME_BYTES_PCM)


class Pacer:
    """Streams queued utterances back to back, silence in between, and records what it sent.

    Frames are timed against the monotonic clock from timeline 0, so nothing drifts however
    late a single send is; the turn bookkeeping notes when each turn starts, stops being
    voiced and ends.
    """

    def __init__(
        self,
        timeline: Timeline,
        turns: Turns,
        send: Callable[[bytes], Awaitable[None]],
        track: bytearray,
    ) -> None:
        self.track = track  # everything sent is appended, 16-bit PCM from timeline 0
        self._timeline = timeline
        self._turns = turns
        self._send = send
        self._queue: deque[Utterance] = deque()

    def enqueue(self, utterance: Utterance) -> None:
        """Speak after whatever is already queued."""
        self._queue.append(utterance)

    def _next_frame(self) -> tuple[bytes, Utterance | None, int]:
        """The next 20 ms of caller audio: queued speech, else silence."""
        while self._queue:
            utt = self._queue[0]
            if utt.pos < utt.frames:
                index = utt.pos
                utt.pos += 1
                pcm = utt.pcm[index * FRAME_BYTES_PCM : (index + 1) * FRAME_BYTES_PCM]
                return pcm.ljust(FRAME_BYTES_PCM, b"\0"), utt, index
            self._queue.popleft()
        return bytes(FRAME_BYTES_PCM), None, -1

    async def run(self) -> None:
        """Send until cancelled or the socket closes."""
        timeline = self._timeline
        frame_no = 0
        try:
            while True:
                delay = frame_no * FRAME_SECS - timeline.now()
                if delay > 0:
                    await asyncio.sleep(delay)
                pcm, utt, index = self._next_frame()
                if utt is not None and index == 0:
                    self._turns.begin(utt.turn, frame_no * FRAME_SECS)
                    timeline.record("turn_start", turn=utt.turn.index, label=utt.turn.label)
                await self._send(MULAW_SILENCE if utt is None else mulaw_encode(pcm))
                self.track += pcm
                frame_no += 1
                if utt is None:
                    continue
                if index == utt.last_voiced:
                    utt.turn.last_voiced_at = timeline.now()
                if index == utt.frames - 1:
                    self._turns.finish(utt.turn, timeline.now())
                    timeline.record("turn_end", turn=utt.turn.index)
        except ConnectionClosed:
            pass

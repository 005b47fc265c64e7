"""Writes a call's transcript, turn by turn, with each reply's latency, as the call goes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from loguru import logger

from zylin.call.record.cost import Prices, call_cost
from zylin.call.record.latency import TurnLatency
from zylin.call.record.replies import CutReply
from zylin.call.record.usage import UsageObserver
from zylin.call.record.writer import RecordWriter
from zylin.metrics import ZylinMetrics
from zylin.storage.repository import Repository


def heard_part(text: str, fraction: float) -> str:
    """The words of `text` a caller heard when `fraction` of its audio played (word-rounded)."""
    words = text.split()
    return " ".join(words[: round(len(words) * max(0.0, min(1.0, fraction)))])


def interrupted_text(said: str, cut: CutReply | None) -> dict[str, str]:
    """`text` and `heard_text` of an interrupted reply (`said`: what Pipecat reported)."""
    if cut is None:  # it never started playing
        return {"text": said, "heard_text": ""}
    text = cut.text or cut.voiced or said
    return {"text": text, "heard_text": heard_part(cut.voiced or text, cut.fraction)}


class CallRecorder:
    """Turns the pipeline's turn events into `call_turns` rows, written as they happen.

    A crash mid-call loses at most the turn in progress: each finished turn is queued for the
    database the moment the aggregators report it. Latency is attached to the reply it measured.
    `usage` (an observer for the pipeline) sums what the services report; with `prices`,
    `record_cost` stores the call's estimated cost when it ends.
    """

    def __init__(
        self,
        *,
        repository: Repository,
        call_sid: str,
        now: Callable[[], datetime],
        writer: RecordWriter,
        metrics: ZylinMetrics,
        target_ms: float,
        prices: Prices | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._call_sid = call_sid
        self._now = now
        self._writer = writer
        self._metrics = metrics
        self._target_ms = target_ms
        self._seq = 0
        self._latency: TurnLatency | None = None
        self._prices = prices
        self._clock = clock  # the call's length for its cost (the wall clock may be pinned)
        self._started = clock()
        self.usage = UsageObserver()

    def user_turn(self, text: str) -> None:
        """The caller finished a turn."""
        if text.strip():
            self._add("user", text=text.strip())

    def assistant_turn(
        self, text: str, *, interrupted: bool, cut: Callable[[], CutReply | None]
    ) -> None:
        """Zylin finished (or was cut off in) a reply; `cut` tells what an interrupted one was.

        An interrupted reply's `text` from Pipecat lacks the sentence that was cut (it is often
        empty), so the row takes the reply's own text from `cut`, read when the row is written.
        """
        if not text.strip() and not interrupted:
            return
        latency, self._latency = self._latency, None
        values: dict[str, object] = {"text": text.strip(), "interrupted": interrupted}
        if latency is not None:
            values.update(
                stt_ms=latency.stt_ms,
                llm_ttfb_ms=latency.llm_ttfb_ms,
                tts_ttfb_ms=latency.tts_ttfb_ms,
                voice_to_voice_ms=latency.voice_to_voice_ms,
            )
        self._add("assistant", cut=cut if interrupted else None, **values)

    def latency(self, latency: TurnLatency) -> None:
        """A reply's latency was measured (its first audio went out)."""
        self._latency = latency
        self._metrics.observe_turn(
            stt_ms=latency.stt_ms,
            llm_ttfb_ms=latency.llm_ttfb_ms,
            tts_ttfb_ms=latency.tts_ttfb_ms,
            voice_to_voice_ms=latency.voice_to_voice_ms,
        )
        v2v = latency.voice_to_voice_ms
        if v2v is not None and v2v > self._target_ms:
            logger.warning(
                f"Slow turn: voice-to-voice {v2v:.0f} ms over the {self._target_ms:.0f} ms "
                f"target (STT {_fmt(latency.stt_ms)}, LLM first token "
                f"{_fmt(latency.llm_ttfb_ms)}, TTS first audio {_fmt(latency.tts_ttfb_ms)})"
            )

    def record_cost(self) -> None:
        """The call ended: queue its usage and estimated cost for the call record."""
        if self._prices is None:
            return
        secs = self._clock() - self._started
        cost = call_cost(self.usage.usage, secs, self._prices)
        values = {"cost_usd": cost["total_usd"], "usage": cost}
        sid = self._call_sid
        self._writer.put(
            "cost", lambda: self._repository.update_call(sid, **values), call_sid=sid, **values
        )

    def _add(
        self, role: str, cut: Callable[[], CutReply | None] | None = None, **values: object
    ) -> None:
        self._seq += 1
        seq, ended_at = self._seq, self._now()

        async def write() -> None:
            row = dict(values)
            if cut is not None:
                row.update(interrupted_text(str(values["text"]), cut()))
                if not row["text"]:
                    return  # cut off before a word was voiced: nothing was said
            await self._repository.add_turn(
                self._call_sid, seq=seq, role=role, ended_at=ended_at, **row
            )

        self._writer.put(
            f"turn {seq}", write, call_sid=self._call_sid, seq=seq, role=role, **values
        )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"

"""The labelled utterance set of the end-of-turn benchmark, spoken as a Twilio call delivers it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml
from pipecat.audio.utils import create_file_resampler, pcm_to_ulaw, ulaw_to_pcm

from zylin.local.espeak import synthesize_async

UTTERANCES_FILE = Path(__file__).with_name("turn_end_utterances.yaml")
TWILIO_RATE = 8000
# Peak below which an eSpeak sample counts as silence when trimming a segment's edges.
_SILENCE_PEAK = 300


@dataclass(frozen=True)
class Utterance:
    """One labelled caller turn: complete after its last word, never at a pause."""

    id: str
    kind: str  # "short", "question" or "pause"
    segments: list[str]
    pauses_ms: list[int] = field(default_factory=list)
    voice: str = "en-us"
    rate_wpm: int = 165


@dataclass(frozen=True)
class SpokenUtterance:
    """An utterance as pipeline-input PCM, with where its words start and end."""

    utterance: Utterance
    pcm: bytes  # 16-bit mono at `rate`, the words only (no lead or tail silence)
    rate: int
    segment_spans: list[tuple[float, float]]  # (start, end) seconds of each segment's words

    @property
    def last_word_end(self) -> float:
        """Seconds from the first word to the end of the last one."""
        return self.segment_spans[-1][1]


def load_utterances(
    path: Path = UTTERANCES_FILE, limit: int | None = None, *, falling_pauses: bool = False
) -> list[Utterance]:
    """Read the labelled set; `limit` keeps the first items of each kind in turn (round robin).

    `falling_pauses` drops the comma before each pause, so eSpeak ends the segment with a
    sentence-final fall: the hardest case for a model that listens to the tone.
    """
    raw = yaml.safe_load(path.read_text())["items"]
    items = [Utterance(**item) for item in raw]
    if falling_pauses:
        items = [
            replace(i, segments=[s.removesuffix(",") for s in i.segments[:-1]] + i.segments[-1:])
            for i in items
        ]
    for item in items:
        if len(item.pauses_ms) != len(item.segments) - 1:
            raise ValueError(f"{item.id}: need one pause per gap between segments")
    if limit is None or limit >= len(items):
        return items
    by_kind: dict[str, list[Utterance]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    picked: list[Utterance] = []
    while len(picked) < limit:
        for group in by_kind.values():
            if group and len(picked) < limit:
                picked.append(group.pop(0))
    return picked


def _trim(pcm: bytes) -> np.ndarray:
    """The segment without eSpeak's leading and trailing silence."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE_PEAK)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


async def speak(utterance: Utterance, pipeline_rate: int) -> SpokenUtterance:
    """Synthesize the segments, join them with the labelled pauses, send them over a mu-law line.

    The mu-law round trip (8 kHz G.711, then Pipecat's resampler up to the pipeline rate) is
    what the Twilio serializer hands the pipeline in a real call.
    """
    parts: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    rate = 0
    cursor = 0
    for i, text in enumerate(utterance.segments):
        pcm, rate = await synthesize_async(text, voice=utterance.voice, rate_wpm=utterance.rate_wpm)
        words = _trim(pcm)
        parts.append(words)
        spans.append((cursor / rate, (cursor + len(words)) / rate))
        cursor += len(words)
        if i < len(utterance.pauses_ms):
            gap = np.zeros(int(utterance.pauses_ms[i] / 1000 * rate), dtype="<i2")
            parts.append(gap)
            cursor += len(gap)
    joined = np.concatenate(parts).astype("<i2").tobytes()
    resampler = create_file_resampler()
    ulaw = await pcm_to_ulaw(joined, rate, TWILIO_RATE, resampler)
    line = await ulaw_to_pcm(ulaw, TWILIO_RATE, pipeline_rate, resampler)
    return SpokenUtterance(utterance=utterance, pcm=line, rate=pipeline_rate, segment_spans=spans)

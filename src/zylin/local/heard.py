"""What the demo recognizer heard, with its confidence, and the frames that carry it.

The demo STT and the demo brain sit on either side of Pipecat's user aggregator, which keeps
only a turn's text. So the STT pushes a `HeardFrame` (the text and its confidence) just
before its `TranscriptionFrame`, the brain keeps those in a `HeardLog`, and the brain pushes
an `ExpectFrame` upstream saying what it just asked for, so the STT can prefer the n-best
hypothesis that answers it. Both frames pass untouched through services that ignore them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame


@dataclass(frozen=True)
class Heard:
    """One utterance as recognized: the text, a 0-1 confidence (None: unknown), alternatives."""

    text: str
    confidence: float | None = None
    alternatives: tuple[str, ...] = ()


@dataclass
class HeardFrame(DataFrame):
    """Downstream, just before the `TranscriptionFrame` of the same text."""

    heard: Heard = field(default_factory=lambda: Heard(""))


@dataclass
class ExpectFrame(DataFrame):
    """Upstream from the brain: what it asked for ("time", "name", "confirm"...), or None."""

    expect: str | None = None


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


class HeardLog:
    """The confidence of the caller's recent utterances, looked up by the turn's text.

    A turn the user aggregator joined from several utterances gets the lowest of their
    confidences; a turn the recognizer never produced (typed text) gets None: trust it.
    """

    def __init__(self, keep: int = 200) -> None:
        """Remember up to `keep` utterances (a call's worth)."""
        self._keep = keep
        self._by_text: OrderedDict[str, float] = OrderedDict()

    def add(self, heard: Heard) -> None:
        """Remember one utterance's confidence."""
        key = _key(heard.text)
        if not key or heard.confidence is None:
            return
        self._by_text[key] = heard.confidence
        self._by_text.move_to_end(key)
        while len(self._by_text) > self._keep:
            self._by_text.popitem(last=False)

    def confidence(self, text: str) -> float | None:
        """The confidence of a caller turn's text, None when the recognizer gave none."""
        key = _key(text)
        if key in self._by_text:
            return self._by_text[key]
        parts = [c for k, c in self._by_text.items() if k and f" {k} " in f" {key} "]
        return min(parts) if parts else None

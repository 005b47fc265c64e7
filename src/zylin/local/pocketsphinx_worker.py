"""pocketsphinx decoding in a worker process (the decoder holds the GIL while it decodes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zylin.local.heard import Heard
from zylin.local.pocketsphinx_decoder import DECODER_SAMPLE_RATE, make_decoder, recognize

__all__ = ["DECODER_SAMPLE_RATE", "DecoderConfig", "decode_in_worker", "init_worker"]


@dataclass(frozen=True)
class DecoderConfig:
    """Everything needed to build a decoder; picklable so a worker process can build it."""

    hmm_path: str
    lm_path: str | None = None
    arpa_text: str | None = None
    dict_path: str | None = None

    def build(self) -> Any:
        """The decoder this configuration describes."""
        return make_decoder(
            self.lm_path, self.dict_path, hmm_path=self.hmm_path, arpa_text=self.arpa_text
        )


# The decoder of this worker process (one process per call, so one decoder per call).
_DECODER: Any = None


def init_worker(config: DecoderConfig) -> None:
    """Process-pool initializer: load this worker's decoder once."""
    global _DECODER
    _DECODER = config.build()


def decode_in_worker(pcm16k: bytes, expect: str | None = None) -> Heard:
    """Recognize with the worker's decoder (runs in the worker process)."""
    return recognize(_DECODER, pcm16k, expect)

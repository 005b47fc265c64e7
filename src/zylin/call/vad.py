"""Silero VAD with its ONNX model loaded once per process instead of once per call."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import onnxruntime
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState


@functools.cache
def _shared_session() -> onnxruntime.InferenceSession:
    """The model's inference session; sessions are stateless and safe to share between calls."""
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    path = resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
    return onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"], sess_options=options
    )


class _SharedSessionModel(SileroOnnxModel):
    """Pipecat's Silero model object (it holds one call's recurrent state) over the shared
    session. Pipecat's constructor loads the model file each time: ~70 ms of CPU and ~9 MiB per
    call, measured here, which held up greetings in a burst of calls."""

    def __init__(self) -> None:  # no super().__init__(): that is the load we avoid
        self.session = _shared_session()
        self.sample_rates = [8000, 16000]
        self.reset_states()


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """`SileroVADAnalyzer` that reuses the process's model session.

    Mirrors `SileroVADAnalyzer.__init__` of Pipecat 1.14 (pinned) minus the model load; the
    equivalence test in tests/unit/test_vad.py compares its scores with Pipecat's own.
    """

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = _SharedSessionModel()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Score on the event loop, not in Pipecat's thread pool: one 32 ms window takes a
        fraction of a millisecond, and the hop to a thread and back cost as much CPU as the
        inference itself (py-spy on a 6-call server: 16 % each)."""
        return self._run_analyzer(buffer)


def warm_up() -> None:
    """Load the session at start-up, so the first call does not pay for it."""
    _shared_session().run(
        None,
        {
            "input": np.zeros((1, 576), dtype=np.float32),
            "state": np.zeros((2, 1, 128), dtype=np.float32),
            "sr": np.array(16000, dtype=np.int64),
        },
    )

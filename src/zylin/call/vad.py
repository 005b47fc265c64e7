"""Silero VAD with its ONNX model loaded once per process instead of once per call."""

from __future__ import annotations

import functools
from collections import deque
from importlib import resources

import numpy as np
import onnxruntime
from loguru import logger
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from zylin.call.silero_batch import batcher_for

# A window whose every sample stays under this (about -50 dBFS) is line silence: far below
# Pipecat's `min_volume` (about -50 LUFS over 400 ms), so it can never count as speech.
QUIET_PEAK = 100
# Quiet windows in a row before scoring stops (~100 ms): a short dip inside a word is still
# scored, so the model's recurrent state follows speech as Pipecat's does.
QUIET_WINDOWS_BEFORE_SKIP = 3
# Samples of the previous window the model sees before each window (Silero's own rule).
CONTEXT_SAMPLES = {16000: 64, 8000: 32}


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
        self._quiet_windows = 0
        self._scored: deque[float] = deque()  # scores of windows `analyze_audio` batched

    def voice_confidence(self, buffer: bytes) -> float:
        """The window's score: taken from `analyze_audio`'s batch when it scored it already,
        else scored here (line silence skipped, see `_skip_quiet`)."""
        if self._scored:
            return self._scored.popleft()
        if self._skip_quiet(buffer):
            return 0.0
        return super().voice_confidence(buffer)

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Score the windows this buffer completes together with other calls' windows (see
        `SileroBatcher`), then let Pipecat's state machine decide on those scores.

        On the event loop, not in Pipecat's thread pool: the hop to a thread and back cost as
        much CPU as the inference itself (py-spy on a 6-call server: 16 % each).
        """
        size = self._vad_frames_num_bytes
        pending = self._vad_buffer + buffer
        for start in range(0, len(pending) - size + 1, size):
            self._scored.append(await self._score_batched(pending[start : start + size]))
        return self._run_analyzer(buffer)

    def _skip_quiet(self, window: bytes) -> bool:
        """Whether to skip Silero on line silence: inference is most of a listening call's VAD
        cost, and callers are silent while Zylin talks. A skipped window still counts towards
        Pipecat's periodic model reset, as a window that scored zero would."""
        samples = np.frombuffer(window, np.int16)
        if samples.size and int(samples.min()) > -QUIET_PEAK and int(samples.max()) < QUIET_PEAK:
            self._quiet_windows += 1
            if self._quiet_windows > QUIET_WINDOWS_BEFORE_SKIP:
                self._maybe_reset_model(0.0)
                return True
        else:
            self._quiet_windows = 0
        return False

    async def _score_batched(self, window: bytes) -> float:
        """`SileroOnnxModel.__call__` with the model run shared: this call's context and
        recurrent state go in with the window and come back updated."""
        if self._skip_quiet(window):
            return 0.0
        model, rate = self._model, self.sample_rate
        audio = np.frombuffer(window, np.int16).astype(np.float32)[None, :] / 32768.0
        context = model._context
        if not context.shape[-1]:
            context = np.zeros((1, CONTEXT_SAMPLES[rate]), np.float32)
        samples = np.concatenate((context, audio), axis=1)
        try:
            batcher = batcher_for(model.session, rate)
            confidence, model._state = await batcher.score(samples, model._state)
        except Exception as exc:  # as Pipecat does: a failed window is not speech
            logger.error(f"Error analyzing audio with Silero VAD: {exc}")
            return 0.0
        model._context = samples[:, -CONTEXT_SAMPLES[rate] :]
        model._last_sr, model._last_batch_size = rate, 1  # Pipecat's own path may go on from here
        self._maybe_reset_model(confidence)
        return confidence


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

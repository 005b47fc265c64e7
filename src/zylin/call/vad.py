"""Silero VAD with its ONNX model loaded once per process instead of once per call."""

from __future__ import annotations

import functools
from collections import deque
from importlib import resources

import numpy as np
import onnxruntime
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

# A window whose every sample stays under this (about -50 dBFS) is line silence: far below
# Pipecat's `min_volume` (about -50 LUFS over 400 ms), so it can never count as speech.
QUIET_PEAK = 100
# Quiet windows in a row before scoring stops (~100 ms): a short dip inside a word is still
# scored, so the model's recurrent state follows speech as Pipecat's does.
QUIET_WINDOWS_BEFORE_SKIP = 3
# Skipped windows scored late, just before the speech that ends the silence (~250 ms). Pipecat's
# model has run through the silence, and its first scores of a word depend on that; a model that
# starts a word cold scored eSpeak's "Yes please" low enough, at some window phases, to miss it.
REPLAY_WINDOWS = 8


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
        self._skipped: deque[bytes] = deque(maxlen=REPLAY_WINDOWS)
        self._reported = VADState.QUIET  # what Pipecat's VAD controller last acted on
        self._unreported: deque[VADState] = deque()  # speech starts and stops it has not seen

    def voice_confidence(self, buffer: bytes) -> float:
        """Silero's score, skipped on line silence: inference is most of a listening call's
        VAD cost (~0.34 ms a window, 31 windows a second), and callers are silent while Zylin
        talks. A skipped window still counts towards Pipecat's periodic model reset, as a
        window that scored zero would."""
        samples = np.frombuffer(buffer, np.int16)
        if samples.size and int(samples.min()) > -QUIET_PEAK and int(samples.max()) < QUIET_PEAK:
            self._quiet_windows += 1
            if self._quiet_windows > QUIET_WINDOWS_BEFORE_SKIP:
                self._maybe_reset_model(0.0)
                if self._windows_since_reset == 0:  # reset: what came before no longer counts
                    self._skipped.clear()
                else:
                    self._skipped.append(buffer)
                return 0.0
        else:
            self._quiet_windows = 0
        while self._skipped:  # bring the model's state up to this window, as Pipecat's is
            window = np.frombuffer(self._skipped.popleft(), np.int16)
            self._model(window.astype(np.float32) / 32768.0, self.sample_rate)
        return super().voice_confidence(buffer)

    def _run_analyzer(self, buffer: bytes) -> VADState:
        """Pipecat's analysis, one window at a time, so a chunk of several windows decides as
        20 ms frames do.

        Pipecat checks its start and stop thresholds once per call, after all the call's
        windows: with 100 ms chunks (three windows) a short word that reached the start
        threshold mid-chunk was undone by a quiet window before the check, and a short pause
        likewise (a 192 ms word was missed at 21 of 32 phases). Its VAD controller acts only on
        the state returned, so each speech start or stop is returned once, in order, one call
        late when two fall in one call.
        """
        pending = self._vad_buffer + buffer
        size = self._vad_frames_num_bytes
        usable = len(pending) - len(pending) % size
        self._vad_buffer = b""
        state = self._vad_state
        for start in range(0, usable, size):
            state = super()._run_analyzer(pending[start : start + size])
            last = self._unreported[-1] if self._unreported else self._reported
            if state in (VADState.SPEAKING, VADState.QUIET) and state != last:
                self._unreported.append(state)
        self._vad_buffer = pending[usable:]
        if self._unreported:
            self._reported = self._unreported.popleft()
            return self._reported
        return state

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

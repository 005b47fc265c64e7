"""The shared-session Silero VAD scores audio exactly as Pipecat's own, and loads once."""

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer

from zylin.call.vad import SharedSileroVADAnalyzer, warm_up
from zylin.local.espeak import synthesize


def _windows(analyzer: SileroVADAnalyzer, pcm: bytes) -> list[float]:
    analyzer.set_sample_rate(16000)
    size = analyzer.num_frames_required() * 2
    return [
        float(np.asarray(analyzer.voice_confidence(pcm[i : i + size])).reshape(-1)[0])
        for i in range(0, len(pcm) - size, size)
    ]


def test_scores_match_pipecats_analyzer_window_for_window() -> None:
    audio, rate = synthesize("Hello, I would like to book a cleaning on Friday.")
    pcm = np.frombuffer(audio, np.int16)
    if rate != 16000:  # linear interpolation is enough to give a VAD speech to score
        x = np.linspace(0, len(pcm) - 1, int(len(pcm) * 16000 / rate))
        pcm = np.interp(x, np.arange(len(pcm)), pcm).astype(np.int16)
    silence = np.zeros(8000, np.int16).tobytes()
    speech = silence + pcm.tobytes() + silence
    ours, theirs = (
        _windows(SharedSileroVADAnalyzer(), speech),
        _windows(SileroVADAnalyzer(), speech),
    )
    assert max(theirs) > 0.5  # there is speech to find
    assert np.allclose(ours, theirs, atol=1e-6)


def test_calls_share_one_session_but_keep_their_own_state() -> None:
    warm_up()
    first, second = SharedSileroVADAnalyzer(), SharedSileroVADAnalyzer()
    assert first._model.session is second._model.session
    first.set_sample_rate(16000)
    first.voice_confidence(np.ones(512, np.int16).tobytes())
    assert first._model._state is not second._model._state

"""The shared-session Silero VAD decides exactly as Pipecat's own, loads once, and skips
inference on line silence."""

import numpy as np
import pytest
from pipecat.audio.utils import create_stream_resampler, pcm_to_ulaw, ulaw_to_pcm
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState

from zylin.call.vad import SharedSileroVADAnalyzer, warm_up
from zylin.local.espeak import synthesize

RATE = 16000
STARTING, SPEAKING, QUIET = VADState.STARTING, VADState.SPEAKING, VADState.QUIET


def _speech(text: str, rate_wpm: int = 165) -> bytes:
    audio, rate = synthesize(text, rate_wpm=rate_wpm)
    pcm = np.frombuffer(audio, np.int16)
    if rate != RATE:  # linear interpolation is enough to give a VAD speech to score
        x = np.linspace(0, len(pcm) - 1, int(len(pcm) * RATE / rate))
        pcm = np.interp(x, np.arange(len(pcm)), pcm).astype(np.int16)
    return pcm.tobytes()


def _silence(secs: float) -> bytes:
    return np.zeros(int(RATE * secs), np.int16).tobytes()


def _windows(analyzer: SileroVADAnalyzer, pcm: bytes) -> list[float]:
    analyzer.set_sample_rate(RATE)
    size = analyzer.num_frames_required() * 2
    return [
        float(np.asarray(analyzer.voice_confidence(pcm[i : i + size])).reshape(-1)[0])
        for i in range(0, len(pcm) - size, size)
    ]


def _states(analyzer: VADAnalyzer, pcm: bytes) -> list[VADState]:
    """The VAD's state after each 20 ms frame, as the user aggregator feeds it."""
    analyzer.set_sample_rate(RATE)
    frame = RATE // 50 * 2
    return [analyzer._run_analyzer(pcm[i : i + frame]) for i in range(0, len(pcm), frame)]


def test_scores_match_pipecats_analyzer_window_for_window_on_a_noisy_line() -> None:
    pcm = np.frombuffer(_speech("Hello, I would like to book a cleaning on Friday."), np.int16)
    noise = np.random.default_rng(7).integers(-300, 300, pcm.size)  # a line is never silent
    speech = np.clip(pcm + noise, -32768, 32767).astype(np.int16).tobytes()
    ours, theirs = (
        _windows(SharedSileroVADAnalyzer(), speech),
        _windows(SileroVADAnalyzer(), speech),
    )
    assert max(theirs) > 0.5  # there is speech to find
    assert np.allclose(ours, theirs, atol=1e-6)


def _turn_edges(states: list[VADState]) -> tuple[list[int], list[int]]:
    """Frames where speech was confirmed, and where the VAD went quiet again."""
    starts = [i for i in range(1, len(states)) if states[i - 1 : i + 1] == [STARTING, SPEAKING]]
    ends = [i for i in range(1, len(states)) if states[i] == QUIET != states[i - 1]]
    return starts, ends


@pytest.mark.parametrize("line", ["Tomorrow at ten in the morning, please.", "Priya", "yes"])
@pytest.mark.parametrize("pause", [0.5, 3.0])
def test_turns_start_and_end_where_pipecats_analyzer_puts_them(line: str, pause: float) -> None:
    """Skipping silence changes no decision by more than a few frames (the model's state
    is not carried through the skipped silence)."""
    call = _silence(1.0) + _speech(line) + _silence(pause) + _speech(line) + _silence(1.0)
    ours = _turn_edges(_states(SharedSileroVADAnalyzer(), call))
    theirs = _turn_edges(_states(SileroVADAnalyzer(), call))
    assert len(theirs[0]) >= 2  # both utterances were found
    assert ours[0][0] == theirs[0][0]  # the first start is scored identically
    assert abs(ours[1][-1] - theirs[1][-1]) <= 3  # the last end within 60 ms


async def _heard_on_the_phone(analyzer: VADAnalyzer, reply: bytes, lead_frames: int) -> bool:
    """Whether the VAD confirms `reply` (8 kHz mu-law) spoken after `lead_frames` x 20 ms of
    line silence, fed as the Twilio serializer delivers it: 20 ms at a time, up to 16 kHz."""
    analyzer.set_sample_rate(RATE)
    resampler = create_stream_resampler(clear_after_secs=None)
    line = b"\xff" * 160 * lead_frames + reply + b"\xff" * 160 * 15
    heard = False
    for i in range(0, len(line), 160):
        state = analyzer._run_analyzer(await ulaw_to_pcm(line[i : i + 160], 8000, RATE, resampler))
        heard = heard or (i >= 160 * lead_frames and state == SPEAKING)
    return heard


@pytest.mark.parametrize("line", ["Yes please.", "It's Priya."])
async def test_a_short_reply_after_silence_is_heard_whenever_pipecats_analyzer_hears_it(
    line: str,
) -> None:
    """Across every window phase (20 ms frames against 32 ms windows repeat every 8 frames),
    skipping the silence before a reply never loses a reply Pipecat's analyzer hears. Scoring
    the first word with a model that skipped the silence cold lost "Yes please" at some
    phases (the demo call's caller went unheard)."""
    audio, rate = synthesize(line)
    reply = await pcm_to_ulaw(audio, rate, 8000, create_stream_resampler())
    reply += b"\xff" * (-len(reply) % 160)
    leads = range(100, 116)
    theirs = [await _heard_on_the_phone(SileroVADAnalyzer(), reply, n) for n in leads]
    ours = [await _heard_on_the_phone(SharedSileroVADAnalyzer(), reply, n) for n in leads]
    assert any(theirs)  # the reply is there to be heard
    assert [lead for lead, t, o in zip(leads, theirs, ours, strict=True) if t and not o] == []


def test_line_silence_is_not_scored() -> None:
    analyzer = SharedSileroVADAnalyzer()
    scored: list[int] = []
    model = analyzer._model
    original = model.__class__.__call__

    class Counting(model.__class__):
        def __call__(self, x, sr):
            scored.append(1)
            return original(self, x, sr)

    model.__class__ = Counting
    _states(analyzer, _silence(2.0))
    assert 0 < len(scored) <= 4  # a few windows to be sure, then none
    scored.clear()
    _states(analyzer, _speech("Hello there."))
    assert scored  # speech is scored again


def test_calls_share_one_session_but_keep_their_own_state() -> None:
    warm_up()
    first, second = SharedSileroVADAnalyzer(), SharedSileroVADAnalyzer()
    assert first._model.session is second._model.session
    first.set_sample_rate(RATE)
    first.voice_confidence(np.full(512, 1000, np.int16).tobytes())
    assert first._model._state is not second._model._state


def _controller_events(analyzer: VADAnalyzer, pcm: bytes, chunk_ms: int) -> list[VADState]:
    """Speech starts and stops as Pipecat's VAD controller reports them, fed `chunk_ms` at a
    time: it acts only on SPEAKING or QUIET, once per call."""
    analyzer.set_sample_rate(RATE)
    size = RATE * chunk_ms // 1000 * 2
    seen, events = QUIET, []
    for i in range(0, len(pcm), size):
        state = analyzer._run_analyzer(pcm[i : i + size])
        if state != seen and state in (SPEAKING, QUIET):
            events.append(state)
            seen = state
    return events


def test_chunks_of_several_windows_find_the_same_words_and_pauses_as_20_ms_frames() -> None:
    """With 100 ms chunks, Pipecat checks its thresholds after three windows at once, so a
    short word or pause that crossed one mid-chunk could be undone before the check."""
    fast = 280  # words per minute: short words, near the VAD's 0.2 s start threshold
    words = [_speech("yes", fast), _silence(0.22), _speech("no", fast), _silence(0.6)]
    words.append(_speech("ok", fast))
    rng = np.random.default_rng(3)
    ours_differ, pipecats_differ = 0, 0
    for offset in range(0, 512, 16):  # the words' phase against the VAD's 512-sample windows
        pcm = np.frombuffer(
            b"".join([_silence(0.5 + offset / RATE), *words, _silence(0.8)]), np.int16
        )
        noise = rng.integers(-200, 200, pcm.size)
        line = np.clip(pcm + noise, -32768, 32767).astype(np.int16).tobytes()
        framed = _controller_events(SharedSileroVADAnalyzer(), line, 20)
        assert SPEAKING in framed  # there is speech to find
        ours_differ += _controller_events(SharedSileroVADAnalyzer(), line, 100) != framed
        pipecats_differ += _controller_events(SileroVADAnalyzer(), line, 100) != framed
    assert ours_differ == 0
    assert pipecats_differ >= 3  # for contrast: Pipecat's own analyzer, fed the same chunks

"""Tests for the eSpeak-ng binding and its Pipecat TTS service: real synthesis, no fakes."""

import array
import asyncio
import threading

import pytest
from pipecat.frames.frames import TTSAudioRawFrame, TTSSpeakFrame
from pipecat.tests.utils import run_test

from zylin.local.espeak import EspeakError, synthesize, synthesize_async
from zylin.local.espeak_tts import EspeakTTSService


def _peak(pcm: bytes) -> int:
    return max(abs(s) for s in array.array("h", pcm))


def test_synthesize_produces_audible_speech_of_plausible_length() -> None:
    pcm, rate = synthesize("Thank you for calling Bright Smile Dental.")
    assert rate == 22050
    assert len(pcm) % 2 == 0
    seconds = len(pcm) / 2 / rate
    assert 1.0 < seconds < 5.0
    assert _peak(pcm) > 3000


def test_faster_rate_gives_shorter_audio() -> None:
    slow, _ = synthesize("Our hours are nine to five on weekdays.", rate_wpm=120)
    fast, _ = synthesize("Our hours are nine to five on weekdays.", rate_wpm=220)
    assert len(fast) < 0.8 * len(slow)


def test_empty_text_gives_no_audio() -> None:
    pcm, rate = synthesize("   ")
    assert pcm == b""
    assert rate > 0


def test_unknown_voice_raises() -> None:
    with pytest.raises(EspeakError):
        synthesize("hello", voice="no-such-voice-xx")


def test_concurrent_threads_get_their_own_audio() -> None:
    expected, _ = synthesize("Goodbye.")
    results: list[bytes] = []

    def worker() -> None:
        results.append(synthesize("Goodbye.")[0])

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # espeak carries a few samples of state between calls, so compare lengths, not bytes:
    # interleaved calls would mix or concatenate audio and change them grossly.
    assert len(results) == 6
    assert all(abs(len(r) - len(expected)) < 0.05 * len(expected) for r in results)


async def test_async_wrapper_runs_calls_concurrently() -> None:
    texts = ["Monday.", "Tuesday at ten.", "We are closed on Sunday."]
    outs = await asyncio.gather(*(synthesize_async(t, voice="en") for t in texts))
    lengths = [len(pcm) for pcm, _ in outs]
    assert all(n > 0 for n in lengths)
    assert lengths[0] < lengths[2]


async def test_tts_service_emits_labelled_audio_between_started_and_stopped() -> None:
    tts = EspeakTTSService(settings=EspeakTTSService.Settings(voice="en", rate_wpm=180))
    down, _ = await run_test(
        tts, frames_to_send=[TTSSpeakFrame("Thank you for calling Bright Smile Dental.")]
    )
    names = [type(f).__name__ for f in down]
    assert "TTSStartedFrame" in names
    assert "TTSStoppedFrame" in names
    assert names.index("TTSStartedFrame") < names.index("TTSAudioRawFrame")
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert {f.sample_rate for f in audio} == {22050}
    seconds = sum(len(f.audio) for f in audio) / 2 / 22050
    assert 1.0 < seconds < 4.0


async def test_tts_service_resamples_when_asked_for_another_rate() -> None:
    tts = EspeakTTSService(sample_rate=16000)
    down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame("Goodbye.")])
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio
    assert {f.sample_rate for f in audio} == {16000}

"""Tests for the libespeak-ng ctypes binding: real synthesis, lengths, concurrency."""

import array
import asyncio
import threading

import pytest

from engines.espeak import EspeakError, synthesize, synthesize_async


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

"""Zylin's audio goes out ahead of playback by a bounded lead, and catches up after a stall."""

from pytest import approx

from zylin.call.transport import pace

CHUNK = 0.04


def _send(chunks: int, start: float, heard_at: float, ahead: float) -> tuple[float, float]:
    """Send `chunks` chunks, waiting as told; returns (the clock, heard_at) afterwards."""
    now = start
    for _ in range(chunks):
        heard_at, wait = pace(now, heard_at, CHUNK, ahead)
        now += wait
    return now, heard_at


def test_the_first_chunks_go_at_once_then_real_time_with_the_lead_kept() -> None:
    heard_at, waits = 0.0, []
    now = 100.0
    for _ in range(20):
        heard_at, wait = pace(now, heard_at, CHUNK, 0.3)
        waits.append(wait)
        now += wait
    assert waits[:7] == [0.0] * 7  # 280 ms sent at once
    assert waits[8:] == approx([CHUNK] * 12)  # then one chunk per chunk played
    assert heard_at - now == approx(0.3)  # never more than the lead queued


def test_a_stall_shorter_than_the_lead_is_caught_up_unheard() -> None:
    now, heard_at = _send(20, 100.0, 0.0, 0.3)
    now += 0.2  # the event loop was busy
    assert heard_at > now  # Twilio still had audio: nothing was heard as a gap
    _, wait = pace(now, heard_at, CHUNK, 0.3)
    assert wait == 0.0  # sends at once to refill the lead


def test_without_a_lead_it_is_pipecats_real_time_pacing() -> None:
    heard_at, wait = pace(100.0, 0.0, CHUNK, 0.0)
    assert (heard_at, wait) == (approx(100.04), approx(0.04))

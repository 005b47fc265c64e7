"""Call recording: when the profile turns it on, the caller is told and both sides go to a WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import yaml

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server
from zylin.config import ROOT


def recording_profile(tmp_path: Path) -> Path:
    """The example profile with `recording.enabled: true`."""
    profile = yaml.safe_load((ROOT / "business" / "example_profile.yaml").read_text())
    profile["recording"] = {**(profile.get("recording") or {}), "enabled": True}
    path = tmp_path / "recording_profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def channel_rms(
    path: Path, start: float = 0.0, end: float | None = None
) -> tuple[int, int, float, list[float]]:
    """Channels, rate, duration (s) and each channel's RMS between `start` and `end` seconds."""
    with wave.open(str(path), "rb") as wav:
        channels, rate, width = wav.getnchannels(), wav.getframerate(), wav.getsampwidth()
        assert width == 2
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    frames = samples.reshape(-1, channels).astype(np.float64)
    part = frames[int(start * rate) : None if end is None else int(end * rate)]
    rms = [float(np.sqrt(np.mean(part[:, c] ** 2))) for c in range(channels)]
    return channels, rate, len(frames) / rate, rms


async def test_recorded_call_announces_it_and_keeps_both_sides(
    fakes: Fakes, tmp_path: Path
) -> None:
    """Greeting starts with the notice; the record points at a stereo WAV as long as the call."""
    recordings = tmp_path / "recordings"
    settings = cloud_settings(
        fakes,
        tmp_path,
        silence_prompt_secs=30.0,
        business_profile=recording_profile(tmp_path),
        recordings_dir=recordings,
    )
    fakes.deepgram.queue_transcripts(["What are your opening hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five on weekdays."))
    async with running_server(settings, now=lambda: OPEN_NOW) as zylin:
        async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_reply(timeout=15)
            assert fakes.openai.speech_requests[0]["input"].startswith("This call is recorded.")
            await call.say_text("What are your opening hours")
            await call.wait_for_reply(timeout=15)
            call_secs = call.now()
            await call.hang_up()
        await wait_until(lambda: not zylin.state.active_calls, within=20)
        detail = await zylin.state.repository.get_call_by_sid(call.call_sid)

    assert detail is not None and detail.call.recording_path
    check_recording(Path(detail.call.recording_path), recordings, call_secs)


def check_recording(path: Path, recordings: Path, call_secs: float) -> None:
    """Stereo 8 kHz (the pipeline's output rate), as long as the call, a voice on each side."""
    assert path.is_file() and path.parent == recordings
    channels, rate, secs, rms = channel_rms(path)
    assert (channels, rate) == (2, 8000)
    assert abs(secs - call_secs) <= 1.5, (secs, call_secs)
    caller, zylin_side = rms
    assert caller > 0 and zylin_side > 0, rms
    # The greeting plays while the caller is silent: Zylin is on the right, the caller left.
    _, _, _, (caller, zylin_side) = channel_rms(path, 0.5, 3.0)
    assert zylin_side > 10 * caller, (caller, zylin_side)

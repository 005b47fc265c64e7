"""The browser phone's AudioWorklet, run under Node with the AudioWorklet scope's globals.

The e2e test proves a call works in chromium; this pins down what it cannot see: the mu-law
codec matches the server's (Pipecat's audioop) bit for bit, capture at 48 kHz becomes 8 kHz
without aliasing, and a mark is reported only once the audio queued before it has played.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pipecat.audio.resamplers.soxr_resampler import SOXRAudioResampler
from pipecat.audio.utils import pcm_to_ulaw, ulaw_to_pcm

WORKLET = Path(__file__).resolve().parents[2] / "src/zylin/owner/static/phone-worklet.js"
NODE = shutil.which("node")

# Loads the worklet as chromium would (AudioWorkletGlobalScope: sampleRate, the processor base
# class, registerProcessor), drives it, and prints what it produced as JSON.
HARNESS = r"""
const fs = require("fs");
const sent = [];
let Processor;
globalThis.sampleRate = 48000;
globalThis.AudioWorkletProcessor = class {
  constructor() { this.port = { postMessage: (m) => sent.push(m) }; }
};
globalThis.registerProcessor = (_name, cls) => { Processor = cls; };
eval(fs.readFileSync(process.argv[2], "utf8") + "\nglobalThis.encode = mulawEncode;");
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const codes = new Uint8Array(65535);
for (let v = -32767; v <= 32767; v++) codes[v + 32767] = encode(v / 32767);
const phone = new Processor();
const rate = 48000;
for (let at = 0; at < 2 * rate; at += 128) {  // 1 s at 1 kHz, then 1 s at 6 kHz
  const block = new Float32Array(128);
  for (let i = 0; i < 128; i++) {
    const t = (at + i) / rate;
    block[i] = 0.5 * Math.sin(2 * Math.PI * (t < 1 ? 1000 : 6000) * t);
  }
  phone.process([[block]], [[new Float32Array(128)]]);
}
const frames = sent.filter((m) => m.type === "media").map((m) => new Uint8Array(m.bytes));
sent.length = 0;
const tone = new Uint8Array(4000);  // 0.5 s at 8 kHz
for (let i = 0; i < tone.length; i++) {
  tone[i] = encode(0.5 * Math.sin((2 * Math.PI * 440 * i) / 8000));
}
phone.command({ type: "media", bytes: tone.buffer });
phone.command({ type: "mark", name: "utterance-1" });
let played = 0, markAt = null;
for (let block = 0; block < 300; block++) {
  const out = new Float32Array(128);
  phone.process([[]], [[out]]);
  played += out.filter((x) => x !== 0).length;
  if (markAt === null && sent.some((m) => m.type === "played")) markAt = (block + 1) * 128;
}
phone.command({ type: "media", bytes: tone.buffer });
phone.command({ type: "mark", name: "utterance-2" });
sent.length = 0;
phone.command({ type: "clear" });
console.log(JSON.stringify({
  codes: b64(codes),
  frameSizes: [...new Set(frames.map((f) => f.length))],
  capture: b64(Buffer.concat(frames)),
  played, markAt,
  afterClear: sent,
}));
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js to run the AudioWorklet")


@pytest.fixture(scope="module")
def worklet() -> dict:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-", str(WORKLET)], input=HARNESS, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_mu_law_matches_the_server_bit_for_bit(worklet: dict) -> None:
    pcm = np.arange(-32767, 32768, dtype="<i2").tobytes()
    server = await pcm_to_ulaw(pcm, 8000, 8000, SOXRAudioResampler())
    assert base64.b64decode(worklet["codes"]) == server


async def test_capture_is_8_khz_in_20_ms_frames_without_aliasing(worklet: dict) -> None:
    assert worklet["frameSizes"] == [160]  # Twilio's 20 ms media payloads
    ulaw = base64.b64decode(worklet["capture"])
    assert len(ulaw) == 2 * 8000  # two seconds
    pcm = await ulaw_to_pcm(ulaw, 8000, 8000, SOXRAudioResampler())
    samples = np.frombuffer(pcm, dtype="<i2").astype(float) / 32768
    tone, above = samples[1000:7000], samples[9000:15000]
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / 8000)[spectrum.argmax()] == pytest.approx(1000, abs=5)
    assert tone.std() == pytest.approx(0.5 / np.sqrt(2), rel=0.05)  # the level is kept
    assert above.std() < 0.01  # 6 kHz cannot pass a phone line: filtered, not folded to 2 kHz


def test_a_mark_is_reported_once_the_audio_before_it_has_played(worklet: dict) -> None:
    assert worklet["played"] == pytest.approx(0.5 * 48000, abs=128)  # 0.5 s, at 48 kHz
    assert worklet["markAt"] == pytest.approx(0.5 * 48000, abs=2 * 128)
    # A clear drops the queued audio and echoes the marks behind it, as Twilio does.
    assert {"type": "played", "name": "utterance-2"} in worklet["afterClear"]
    assert {"type": "cut"} in worklet["afterClear"]

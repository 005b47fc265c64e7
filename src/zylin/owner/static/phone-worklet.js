// Zylin's browser phone, audio side (an AudioWorklet): the microphone becomes 8 kHz mu-law
// in 20 ms frames, as a Twilio media stream carries it, and Zylin's 8 kHz mu-law audio is
// played at the context's rate. Marks queued behind the audio are reported once that audio
// has played, so the page can echo them the way Twilio does.
"use strict";

const LINE_RATE = 8000;
const FRAME_BYTES = 160; // 20 ms at 8 kHz, one byte a sample
const CUTOFF_HZ = 3600; // below the 4 kHz Nyquist of the phone line

// G.711 mu-law, the telephone codec Twilio uses.
const MULAW_BIAS = 0x84;
const MULAW_DECODE = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = (((u & 0x0f) << 3) + MULAW_BIAS) << exponent;
  const linear = magnitude - MULAW_BIAS;
  MULAW_DECODE[i] = (u & 0x80 ? -linear : linear) / 32768;
}

// The reference G.711 encoder on 14-bit samples (what the server's audioop does, bit for bit).
const MULAW_SEGMENT_ENDS = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
function mulawEncode(sample) {
  let value = Math.round(Math.max(-1, Math.min(1, sample)) * 32767) >> 2;
  let mask = 0xff;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  }
  value = Math.min(value + (MULAW_BIAS >> 2), 8159);
  let segment = 0;
  while (segment < 8 && value > MULAW_SEGMENT_ENDS[segment]) segment++;
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((value >> (segment + 1)) & 0x0f)) ^ mask;
}

// A windowed-sinc low-pass (Blackman) at `cutoff` Hz for a signal at `rate` Hz, unit gain.
function lowPass(rate, cutoff, count) {
  const taps = new Float32Array(count);
  const fc = cutoff / rate;
  const middle = (count - 1) / 2;
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const x = k - middle;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const window =
      0.42 - 0.5 * Math.cos((2 * Math.PI * k) / (count - 1)) +
      0.08 * Math.cos((4 * Math.PI * k) / (count - 1));
    taps[k] = sinc * window;
    sum += taps[k];
  }
  for (let k = 0; k < count; k++) taps[k] /= sum;
  return taps;
}

class ZylinPhoneProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.running = true;
    // Capture: low-pass at the context's rate, then take every `step`-th point (interpolated).
    this.step = sampleRate / LINE_RATE;
    const count = this.step > 1 ? Math.min(95, 8 * Math.ceil(this.step) + 1) : 1;
    this.taps = count > 1 ? lowPass(sampleRate, CUTOFF_HZ, count) : new Float32Array([1]);
    this.history = new Float32Array(this.taps.length);
    this.at = 0; // where the next sample goes in `history` (a ring)
    this.sinceOut = 0; // input samples since the last output point, minus the step
    this.previous = 0; // the last filtered sample
    this.frame = new Uint8Array(FRAME_BYTES);
    this.filled = 0;
    // Playback: 8 kHz samples and marks, in the order they came; linear interpolation up.
    this.queue = [];
    this.offset = 0; // read position in queue[0] when it is audio
    this.a = 0;
    this.b = 0;
    this.frac = 0;
    this.rate = LINE_RATE / sampleRate;
    this.playing = false;
    this.port.onmessage = (event) => this.command(event.data);
  }

  command(message) {
    if (message.type === "media") {
      const bytes = new Uint8Array(message.bytes);
      const samples = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) samples[i] = MULAW_DECODE[bytes[i]];
      this.queue.push(samples);
    } else if (message.type === "mark") {
      this.queue.push(String(message.name));
    } else if (message.type === "clear") {
      // Twilio drops the unplayed audio and echoes every mark still waiting behind it.
      const cut = this.queue.some((item) => typeof item !== "string");
      for (const item of this.queue) if (typeof item === "string") this.played(item);
      if (cut) this.port.postMessage({ type: "cut" });
      this.queue = [];
      this.offset = 0;
      this.a = this.b = 0;
    } else if (message.type === "stop") {
      this.running = false;
    }
  }

  played(name) {
    this.port.postMessage({ type: "played", name });
  }

  capture(input) {
    const taps = this.taps;
    const history = this.history;
    const size = taps.length;
    for (let i = 0; i < input.length; i++) {
      history[this.at] = input[i];
      this.at = (this.at + 1) % size;
      let y = 0;
      for (let k = 0, j = this.at; k < size; k++) {
        y += taps[k] * history[j];
        j = j + 1 === size ? 0 : j + 1;
      }
      // Output points fall between the previous filtered sample and this one.
      this.sinceOut += 1;
      while (this.sinceOut >= this.step) {
        const t = 1 - (this.sinceOut - this.step); // 0..1 from previous to y
        this.emit(this.previous + (y - this.previous) * t);
        this.sinceOut -= this.step;
      }
      this.previous = y;
    }
  }

  emit(sample) {
    this.frame[this.filled++] = mulawEncode(sample);
    if (this.filled === FRAME_BYTES) {
      const done = this.frame;
      this.port.postMessage({ type: "media", bytes: done.buffer }, [done.buffer]);
      this.frame = new Uint8Array(FRAME_BYTES);
      this.filled = 0;
    }
  }

  next() {
    while (this.queue.length > 0 && typeof this.queue[0] === "string") {
      this.played(this.queue.shift());
    }
    if (this.queue.length === 0) {
      this.status(false);
      return 0;
    }
    const chunk = this.queue[0];
    const sample = chunk[this.offset++];
    if (this.offset >= chunk.length) {
      this.queue.shift();
      this.offset = 0;
    }
    this.status(true);
    return sample;
  }

  status(playing) {
    if (playing !== this.playing) {
      this.playing = playing;
      this.port.postMessage({ type: "playing", playing });
    }
  }

  play(output) {
    for (let i = 0; i < output.length; i++) {
      output[i] = this.a + (this.b - this.a) * this.frac;
      this.frac += this.rate;
      while (this.frac >= 1) {
        this.frac -= 1;
        this.a = this.b;
        this.b = this.next();
      }
    }
  }

  process(inputs, outputs) {
    const input = inputs[0];
    if (input && input.length > 0) this.capture(input[0]);
    const output = outputs[0];
    if (output && output.length > 0) {
      this.play(output[0]);
      for (let c = 1; c < output.length; c++) output[c].set(output[0]);
    }
    return this.running;
  }
}

registerProcessor("zylin-phone", ZylinPhoneProcessor);

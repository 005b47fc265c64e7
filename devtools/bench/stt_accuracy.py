"""Word accuracy of demo-mode STT (pocketsphinx) on eSpeak speech over an 8 kHz mu-law line.

Run: uv run python -m devtools.bench.stt_accuracy [--profile business/example_profile.yaml] [-v]

Each utterance is synthesised with several eSpeak voices and speeds, encoded to 8 kHz mu-law
and decoded back (as a Twilio call delivers it), then recognised with the wheel's general
en-US language model and with the business model built from the profile. Prints word
accuracy (1 - WER), decode time per utterance, and "same meaning": how often the demo brain
reads the same intent, questions and slots (service, day, time) from the transcript as from
the reference text.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from loguru import logger
from pipecat.audio.utils import create_file_resampler, pcm_to_ulaw, ulaw_to_pcm

from zylin.business.profile import BusinessProfile
from zylin.local.demo_understanding import understand
from zylin.local.espeak import synthesize
from zylin.local.language_model import normalize, write_language_model
from zylin.local.pocketsphinx_stt import PocketsphinxSTTService

# Caller lines. Those marked * are phrased unlike any corpus template (held out).
UTTERANCES = [
    "I would like to book a cleaning on Monday",
    "Can I book a checkup on Tuesday at ten thirty a.m.",
    "what are your hours on Friday",
    "how much is a whitening",
    "my name is John Smith",
    "I need to cancel my appointment",
    "I'd like to reschedule my appointment",
    "can I speak to the owner",
    "can I leave a message",
    "do you take insurance",
    "Wednesday at two p.m.",
    "that's all thanks",
    "yes please",
    "no thank you",
    "tomorrow at nine thirty",
    "what services do you offer",
    "is there parking",
    "my number is five five five one two three four five six seven",
    "*could you fit me in for a whitening next Thursday morning",
    "*I was hoping to get my teeth cleaned this week",
    "*hi I'm calling about my appointment on Monday",
    "*do you have anything open on Friday afternoon",
    "*please tell the doctor that I will be late",
    "*how long does a checkup take",
    "*sorry can you repeat that",
]
VOICES = [("en-us", 165), ("en", 140), ("en-gb-x-rp", 180), ("en-us-nyc", 200)]
PHONE_RATE = 8000


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    prev = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref != hyp))
        prev = cur
    return prev[-1]


async def phone_line(text: str, voice: str, rate_wpm: int) -> bytes:
    """Speech as the service receives it from Twilio: 8 kHz PCM after a mu-law round trip."""
    pcm, rate = synthesize(text, voice=voice, rate_wpm=rate_wpm)
    resampler = create_file_resampler()
    ulaw = await pcm_to_ulaw(pcm, rate, PHONE_RATE, resampler)
    audio = await ulaw_to_pcm(ulaw, PHONE_RATE, PHONE_RATE, resampler)
    pad = bytes(int(0.3 * PHONE_RATE) * 2)  # the VAD segment's pre-roll and trailing pad
    return pad + audio + pad


async def main() -> None:
    parser = argparse.ArgumentParser(description="Word accuracy of demo-mode STT (pocketsphinx).")
    parser.add_argument("--profile", type=Path, default=Path("business/example_profile.yaml"))
    parser.add_argument("-v", "--verbose", action="store_true", help="print every hypothesis")
    args = parser.parse_args()
    logger.remove()

    profile = BusinessProfile.model_validate(yaml.safe_load(args.profile.read_text()))
    out_dir = Path(tempfile.mkdtemp(prefix="zylin-lm-"))
    started = time.perf_counter()
    lm = write_language_model(profile, out_dir, now=datetime.now(UTC))
    build_s = time.perf_counter() - started
    print(
        f"business LM: {len(lm.vocabulary)} words, built in {build_s:.2f} s; "
        f"skipped (not in dictionary): {sorted(lm.dropped_words) or 'none'}"
    )

    engines = {
        "general": PocketsphinxSTTService(in_process=True),
        "business": PocketsphinxSTTService(
            lm_path=lm.lm_path, dict_path=lm.dict_path, in_process=True
        ),
    }
    totals = {name: {"ref": 0, "err": 0, "held_ref": 0, "held_err": 0} for name in engines}
    times: dict[str, list[float]] = {name: [] for name in engines}
    per_voice: dict[tuple[str, str], list[int]] = {}
    same_meaning = dict.fromkeys(engines, 0)
    now = datetime.now(UTC)

    def meaning(text: str) -> tuple[object, ...]:
        u = understand(text, profile, now, awaiting=None)
        return (u.intent, tuple(u.info), u.service, u.day, u.time, bool(u.faq_answer))

    for line in UTTERANCES:
        held_out = line.startswith("*")
        text = line.lstrip("*")
        reference = normalize(text)
        expected = meaning(text)
        for voice, rate in VOICES:
            audio = await phone_line(text, voice, rate)
            for name, stt in engines.items():
                t0 = time.perf_counter()
                transcript = await stt.transcribe(audio, PHONE_RATE)
                times[name].append(time.perf_counter() - t0)
                hypothesis = transcript.split()
                same_meaning[name] += meaning(transcript) == expected
                errors = word_errors(reference, hypothesis)
                totals[name]["ref"] += len(reference)
                totals[name]["err"] += errors
                tally = per_voice.setdefault((name, f"{voice}@{rate}"), [0, 0])
                tally[0] += len(reference)
                tally[1] += errors
                if held_out:
                    totals[name]["held_ref"] += len(reference)
                    totals[name]["held_err"] += errors
                if args.verbose:
                    print(f"[{name:8} {voice:10} {rate}] {text!r} -> {' '.join(hypothesis)!r}")

    n = len(UTTERANCES) * len(VOICES)
    print(
        f"{len(UTTERANCES)} utterances x {len(VOICES)} voice/speed settings = {n} decodes per "
        f"model, 8 kHz mu-law resampled to 16 kHz"
    )
    header = f"{'model':10} {'word acc':>9} {'held-out acc':>13} {'same meaning':>13}"
    print(f"{header} {'median s':>9} {'p95 s':>7}")
    for name in engines:
        t = totals[name]
        acc = 1 - t["err"] / t["ref"]
        held = 1 - t["held_err"] / t["held_ref"]
        ts = sorted(times[name])
        p95 = ts[int(0.95 * (len(ts) - 1))]
        same = same_meaning[name] / n
        print(
            f"{name:10} {acc:9.3f} {held:13.3f} {same:13.3f} "
            f"{statistics.median(ts):9.3f} {p95:7.3f}"
        )
    print("word accuracy by voice@wpm:")
    for name in engines:
        cells = [f"{v} {1 - e / r:.2f}" for (n, v), (r, e) in per_voice.items() if n == name]
        print(f"  {name:10} " + ", ".join(cells))


if __name__ == "__main__":
    asyncio.run(main())

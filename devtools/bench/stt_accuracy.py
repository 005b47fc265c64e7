"""Word accuracy of demo-mode STT (pocketsphinx) on eSpeak speech over an 8 kHz mu-law line.

Run: ./zylin bench stt [--set heldout|dev] [--profile business/example_profile.yaml] [-v]
     [--corpus FILE] [--phrases FILE|none] [--no-general]

Each line is synthesised with several eSpeak voices and speeds, encoded to 8 kHz mu-law and
decoded back (as a Twilio call delivers it), then recognised with the wheel's general en-US
language model and with the business model built from the profile. Prints word accuracy
(1 - WER), decode time per utterance, and "same meaning": how often the demo brain reads the
same intent, questions and slots (service, day, time, name, yes/no) from the transcript as
from the reference text.

The held-out set (`stt_heldout_lines.yaml`) has lines and voices the model was not built
from: a training sentence that equals a held-out line is left out of the model built here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from loguru import logger
from pipecat.audio.utils import create_file_resampler, pcm_to_ulaw, ulaw_to_pcm

from zylin.business.profile import BusinessProfile
from zylin.local.demo_dialog import LOW_CONFIDENCE
from zylin.local.demo_understanding import understand
from zylin.local.espeak import synthesize
from zylin.local.language_model import (
    DEFAULT_CORPUS,
    GENERAL_CORPUS,
    business_sentences,
    corpus_text,
    normalize,
    write_sentence_model,
)
from zylin.local.pocketsphinx_stt import PocketsphinxSTTService

HELD_OUT = Path(__file__).with_name("stt_heldout_lines.yaml")
# The development set: lines the corpus was written around (tuning happens on these).
DEV_LINES = [
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
    "could you fit me in for a whitening next Thursday morning",
    "I was hoping to get my teeth cleaned this week",
    "hi I'm calling about my appointment on Monday",
    "do you have anything open on Friday afternoon",
    "please tell the doctor that I will be late",
    "how long does a checkup take",
    "sorry can you repeat that",
]
DEV_VOICES = [("en-us", 165, 50), ("en", 140, 50), ("en-gb-x-rp", 180, 50), ("en-us-nyc", 200, 50)]
PHONE_RATE = 8000


@dataclass(frozen=True)
class Line:
    """One caller line and what Zylin had asked for when it was said."""

    text: str
    expect: str | None


def load_set(name: str) -> tuple[list[Line], list[tuple[str, int, int]]]:
    """The lines and (voice, words per minute, pitch) of the dev or held-out set."""
    if name == "dev":
        return [Line(t, None) for t in DEV_LINES], DEV_VOICES
    data = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    lines = [
        Line(str(i["text"]), None if i["expect"] == "none" else i["expect"]) for i in data["lines"]
    ]
    voices = [(str(v["voice"]), int(v["wpm"]), int(v["pitch"])) for v in data["voices"]]
    return lines, voices


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    prev = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref != hyp))
        prev = cur
    return prev[-1]


async def phone_line(text: str, voice: str, rate_wpm: int, pitch: int = 50) -> bytes:
    """Speech as the service receives it from Twilio: 8 kHz PCM after a mu-law round trip."""
    pcm, rate = synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch)
    resampler = create_file_resampler()
    ulaw = await pcm_to_ulaw(pcm, rate, PHONE_RATE, resampler)
    audio = await ulaw_to_pcm(ulaw, PHONE_RATE, PHONE_RATE, resampler)
    pad = bytes(int(0.3 * PHONE_RATE) * 2)  # the VAD segment's pre-roll and trailing pad
    return pad + audio + pad


async def main() -> None:
    parser = argparse.ArgumentParser(description="Word accuracy of demo-mode STT (pocketsphinx).")
    parser.add_argument("--profile", type=Path, default=Path("business/example_profile.yaml"))
    parser.add_argument("--set", choices=["heldout", "dev"], default="heldout")
    parser.add_argument("--no-general", action="store_true", help="skip the general model")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="business corpus")
    parser.add_argument(
        "--phrases",
        default=str(GENERAL_CORPUS),
        help="general receptionist phrases added to the corpus ('none': without)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every hypothesis")
    args = parser.parse_args()
    logger.remove()

    profile = BusinessProfile.model_validate(yaml.safe_load(args.profile.read_text()))
    lines, voices = load_set(args.set)
    now = datetime.now(UTC)
    today = profile.local_now(now).date()
    phrases = None if args.phrases == "none" else Path(args.phrases)
    text = corpus_text(args.corpus, phrases)
    training = business_sentences(profile, corpus_text=text, today=today)
    held = {" ".join(normalize(ln.text)) for ln in lines} if args.set == "heldout" else set()
    kept = [s for s in training if " ".join(normalize(s)) not in held]
    out_dir = Path(tempfile.mkdtemp(prefix="zylin-lm-"))
    started = time.perf_counter()
    lm = write_sentence_model(kept, out_dir, name="business")
    build_s = time.perf_counter() - started
    print(
        f"business LM: {len(kept)} sentences ({len(training) - len(kept)} equal to held-out "
        f"lines left out), {len(lm.vocabulary)} words, built in {build_s:.2f} s"
    )

    business = PocketsphinxSTTService(lm_path=lm.lm_path, dict_path=lm.dict_path, in_process=True)
    models = ["business", "business+expect"] + ([] if args.no_general else ["general"])
    general = None if args.no_general else PocketsphinxSTTService(in_process=True)
    tally = {m: Tally() for m in models}
    trusted, asked_again = Tally(), Tally()

    def meaning(text: str, expect: str | None) -> tuple[object, ...]:
        u = understand(text, profile, now, awaiting=expect)
        return (u.intent, tuple(u.info), u.service, u.day, u.time, u.part, u.name, u.yes, u.no)

    for line in lines:
        reference = normalize(line.text)
        expected = meaning(line.text, line.expect)
        for voice, rate, pitch in voices:
            audio = await phone_line(line.text, voice, rate, pitch)
            t0 = time.perf_counter()
            heard = await business.hear(audio, PHONE_RATE, line.expect)
            seconds = time.perf_counter() - t0
            best = heard.alternatives[0] if heard.alternatives else heard.text
            results = {"business": best, "business+expect": heard.text}
            if general is not None:
                t1 = time.perf_counter()
                results["general"] = await general.transcribe(audio, PHONE_RATE)
                tally["general"].seconds.append(time.perf_counter() - t1)
            for model, text in results.items():
                same = meaning(text, line.expect) == expected
                tally[model].add(reference, text.split(), same, f"{voice}@{rate}")
            tally["business"].seconds.append(seconds)
            tally["business+expect"].seconds.append(seconds)
            sure = heard.confidence is not None and heard.confidence >= LOW_CONFIDENCE
            same = meaning(heard.text, line.expect) == expected
            (trusted if sure else asked_again).add(reference, heard.text.split(), same, "")
            if args.verbose:
                print(
                    f"[{voice:14} {rate}] {line.text!r} -> {heard.text!r} "
                    f"(best {best!r}, confidence {heard.confidence or 0:.2f})"
                )

    n = len(lines) * len(voices)
    print(
        f"{args.set} set: {len(lines)} lines x {len(voices)} voices = {n} decodes per model, "
        f"8 kHz mu-law resampled to 16 kHz"
    )
    print(f"{'model':16} {'word acc':>9} {'same meaning':>13} {'median s':>9} {'p95 s':>7}")
    for model in models:
        t = tally[model]
        ts = sorted(t.seconds)
        print(
            f"{model:16} {t.accuracy():9.3f} {t.meaning():13.3f} "
            f"{statistics.median(ts):9.3f} {ts[int(0.95 * (len(ts) - 1))]:7.3f}"
        )
    print(
        f"confidence < {LOW_CONFIDENCE} (asked again when a slot was asked for): "
        f"{asked_again.count}/{n} turns, same meaning {asked_again.meaning():.3f}; "
        f"trusted turns: same meaning {trusted.meaning():.3f}, word acc {trusted.accuracy():.3f}"
    )
    print("word accuracy by voice@wpm:")
    for model in models:
        cells = [f"{v} {1 - e / r:.2f}" for v, (r, e) in tally[model].per_voice.items()]
        print(f"  {model:16} " + ", ".join(cells))


@dataclass
class Tally:
    """Word errors, same-meaning count and decode times of one model (or one kind of turn)."""

    words: int = 0
    errors: int = 0
    count: int = 0
    same: int = 0
    seconds: list[float] = field(default_factory=list)
    per_voice: dict[str, list[int]] = field(default_factory=dict)

    def add(self, reference: list[str], hypothesis: list[str], same: bool, voice: str) -> None:
        """Count one decode."""
        errors = word_errors(reference, hypothesis)
        self.words += len(reference)
        self.errors += errors
        self.count += 1
        self.same += same
        cell = self.per_voice.setdefault(voice, [0, 0])
        cell[0] += len(reference)
        cell[1] += errors

    def accuracy(self) -> float:
        """1 - WER."""
        return 1 - self.errors / self.words if self.words else float("nan")

    def meaning(self) -> float:
        """Share of decodes the demo brain reads as it reads the reference text."""
        return self.same / self.count if self.count else float("nan")


if __name__ == "__main__":
    asyncio.run(main())

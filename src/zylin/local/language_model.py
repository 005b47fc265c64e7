"""Build a small business-specific trigram model and dictionary for the pocketsphinx decoder."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import random
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from loguru import logger
from pocketsphinx import get_model_path
from pocketsphinx.lm import ArpaBoLM

from zylin.business.profile import WEEKDAYS, BusinessProfile
from zylin.local.spoken import (
    MONTH_WORDS,
    WEEKDAY_WORDS,
    money_words,
    number_words,
    ordinal_words,
    time_words,
)

DEFAULT_CORPUS = Path(__file__).with_name("demo_corpus.txt")
GENERAL_CORPUS = Path(__file__).with_name("receptionist_corpus.txt")
DEFAULT_DICT = Path(get_model_path("en-us/cmudict-en-us.dict"))
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MAX_EXPANSIONS = 60
DISCOUNT_MASS = 0.1
_ALWAYS = ("a.m.", "p.m.", "<sil>")


@dataclass(frozen=True)
class LanguageModelFiles:
    """Paths of a built model: ARPA text and the matching (small) pronunciation dictionary."""

    lm_path: Path
    dict_path: Path
    vocabulary: frozenset[str]
    dropped_words: frozenset[str]


def normalize(text: str) -> list[str]:
    """Lower-case words as the recogniser spells them: "$90" -> "ninety dollars", "10:30" too."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"\$\s*\d+(?:\.\d\d)?", lambda m: " " + money_words(m.group(0)) + " ", text)
    text = re.sub(
        r"\b(\d{1,2}):(\d{2})\b",
        lambda m: " " + time_words(int(m.group(1)), int(m.group(2)), with_meridiem=False) + " ",
        text,
    )
    text = re.sub(r"\b(a|p)\.?\s?m\b\.?", r" \1.m. ", text)
    text = re.sub(r"\d{1,3}", lambda m: " " + number_words(int(m.group(0))) + " ", text)
    text = re.sub(r"\d", lambda m: " " + number_words(int(m.group(0))) + " ", text)
    words = re.findall(r"[a-z]\.[a-z]\.|[a-z][a-z']*", text)
    return [w.strip("'") for w in words if w.strip("'")]


def read_dictionary_words(dict_path: Path = DEFAULT_DICT) -> set[str]:
    """Words (without "(2)" variant markers) the pronunciation dictionary knows."""
    words: set[str] = set()
    with open(dict_path, encoding="utf-8") as fh:
        for line in fh:
            head = line.split(" ", 1)[0]
            words.add(head.split("(", 1)[0])
    return words


def _profile_slots(profile: BusinessProfile, today: date) -> dict[str, list[str]]:
    """Slot values the caller may say, taken from the profile (services, hours, dates)."""
    times: list[str] = []
    for day in WEEKDAYS:
        window = profile.hours.get(day)
        if window is None:
            continue
        minute = window.opens.hour * 60 + window.opens.minute
        end = window.closes.hour * 60 + window.closes.minute
        while minute < end:
            h, m = divmod(minute, 60)
            times.append(time_words(h, m))
            times.append(time_words(h, m, with_meridiem=False))
            minute += 15
    times = list(dict.fromkeys([*times, "ten o'clock", "two o'clock", "noon"]))
    hours = _open_hours(profile)
    dates: list[str] = []
    for offset in range(0, 45):
        d = today + timedelta(days=offset)
        dates.append(f"the {ordinal_words(d.day)}")
        dates.append(f"{MONTH_WORDS[d.month - 1]} {ordinal_words(d.day)}")
    months = list(dict.fromkeys(MONTH_WORDS[(today.month - 1 + k) % 12] for k in range(3)))
    return {
        "hour": [number_words(h % 12 or 12) for h in hours],
        "clock": _clock_phrases(hours),
        "part": ["morning", "afternoon", "evening"],
        "ordinal": [ordinal_words(n) for n in range(1, 32)],
        "month": months,
        "service": [" ".join(normalize(s.name)) for s in profile.services],
        "price": [money_words(s.price) for s in profile.services if s.price],
        "day": list(WEEKDAY_WORDS),
        "time": times,
        "date": list(dict.fromkeys(dates)),
        "business": [" ".join(normalize(profile.name))],
    }


def _open_hours(profile: BusinessProfile) -> list[int]:
    """Every hour of the day (0-23) in which the business is open on some day."""
    hours: set[int] = set()
    for window in profile.hours.values():
        if window is not None:
            hours.update(range(window.opens.hour, max(window.opens.hour + 1, window.closes.hour)))
    return sorted(hours)


def _clock_phrases(hours: list[int]) -> list[str]:
    """The ways a caller says a time in these hours: "half past two", "ten in the morning"."""
    out: list[str] = []
    for h in hours:
        word = number_words(h % 12 or 12)
        nxt = number_words((h + 1) % 12 or 12)
        part = "in the morning" if h < 12 else "in the afternoon"
        out += [
            time_words(h, 0),
            time_words(h, 30, with_meridiem=False),
            time_words(h, 15, with_meridiem=False),
            time_words(h, 45, with_meridiem=False),
            f"{word} o'clock",
            f"{word} {part}",
            f"half past {word}",
            f"quarter past {word}",
            f"quarter to {nxt}",
            f"{word} thirty {part}",
        ]
    return list(dict.fromkeys(out))


def _parse_corpus(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """Split the corpus file into template lines and `$name = a | b` slot lists."""
    templates: list[str] = []
    slots: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("$") and "=" in line:
            name, values = line[1:].split("=", 1)
            slots[name.strip()] = [v.strip() for v in values.split("|") if v.strip()]
            continue
        templates.append(line)
    return templates, slots


def _expand(template: str, slots: dict[str, list[str]], rng: random.Random) -> list[str]:
    """Fill a template's placeholders; every slot value appears, combinations are sampled."""
    names = _PLACEHOLDER.findall(template)
    if not names:
        return [template]
    missing = [n for n in names if not slots.get(n)]
    if missing:
        logger.debug(f"corpus line {template!r} skipped: no values for {missing}")
        return []
    lists = [slots[n] for n in names]
    total = 1
    for values in lists:
        total *= len(values)
    if total <= _MAX_EXPANSIONS:
        combos: Iterable[Sequence[str]] = itertools.product(*lists)
    else:
        span = max(len(v) for v in lists)
        rows = [tuple(v[(i + 7 * k) % len(v)] for k, v in enumerate(lists)) for i in range(span)]
        rows += [tuple(rng.choice(v) for v in lists) for _ in range(_MAX_EXPANSIONS - span)]
        combos = rows
    out = []
    for combo in combos:
        parts = _PLACEHOLDER.split(template)  # text, name, text, name, ..., text
        filled = [parts[0]]
        for value, text in zip(combo, parts[2::2], strict=True):
            filled += [value, text]
        out.append("".join(filled))
    return out


def corpus_text(corpus_path: Path = DEFAULT_CORPUS, general: Path | None = GENERAL_CORPUS) -> str:
    """The business corpus and the general receptionist phrases, as one corpus text."""
    parts = [corpus_path.read_text(encoding="utf-8")]
    if general is not None:
        parts.append(general.read_text(encoding="utf-8"))
    return "\n".join(parts)


def business_sentences(
    profile: BusinessProfile, *, corpus_text: str, today: date, seed: int = 0
) -> list[str]:
    """All training sentences: the corpus templates filled from the profile, plus its FAQ."""
    templates, slots = _parse_corpus(corpus_text)
    slots = {**slots, **_profile_slots(profile, today)}
    names = slots.get("first_name", []) + slots.get("last_name", [])
    slots.setdefault("spelled", [" ".join(name) for name in names if name.isalpha()])
    rng = random.Random(seed)
    sentences: list[str] = []
    for template in templates:
        sentences.extend(_expand(template, slots, rng))
    sentences.extend(faq.q for faq in profile.faq)
    for service in profile.services:
        sentences.append(f"{service.name}")
    return sentences


def build_arpa(
    sentences: Iterable[str], vocabulary: set[str], *, discount_mass: float = DISCOUNT_MASS
) -> tuple[str, set[str], set[str]]:
    """ARPA trigram text over in-dictionary words; returns (arpa, words used, words dropped).

    `discount_mass` is the probability held back for unseen word sequences: low values keep
    the decoder on the corpus phrasings, which is what a narrow receptionist domain wants.
    """
    lines: list[str] = []
    used: set[str] = set()
    dropped: set[str] = set()
    for sentence in sentences:
        words = normalize(sentence)
        kept = [w for w in words if w in vocabulary]
        dropped.update(w for w in words if w not in vocabulary)
        if kept:
            used.update(kept)
            lines.append(" ".join(kept))
    if not lines:
        raise ValueError("no in-vocabulary sentences to build a language model from")
    model = ArpaBoLM(text="\n".join(lines) + "\n", add_start=True, discount_mass=discount_mass)
    model.compute()
    out = io.StringIO()
    model.write(out)
    if dropped:
        logger.info(f"demo language model: skipped words not in the dictionary: {sorted(dropped)}")
    return out.getvalue(), used, dropped


def write_dictionary(words: Iterable[str], out_path: Path, source: Path = DEFAULT_DICT) -> None:
    """Copy the pronunciations of `words` (all variants) so the decoder loads fast."""
    wanted = set(words) | set(_ALWAYS)
    with open(source, encoding="utf-8") as src, open(out_path, "w", encoding="utf-8") as dst:
        for line in src:
            head = line.split(" ", 1)[0].split("(", 1)[0]
            if head in wanted:
                dst.write(line)


def write_language_model(
    profile: BusinessProfile,
    out_dir: Path,
    *,
    now: datetime,
    corpus_path: Path = DEFAULT_CORPUS,
    general_path: Path | None = GENERAL_CORPUS,
    dict_path: Path = DEFAULT_DICT,
    discount_mass: float = DISCOUNT_MASS,
) -> LanguageModelFiles:
    """Build the business model into `out_dir` (`business.lm`, `business.dict`) once at start-up.

    Args:
        profile: The business whose services, hours and FAQ shape the model.
        out_dir: Directory to write into; created if missing.
        now: Current time; dates near it ("the fifth", "march fifth") get into the model.
        corpus_path: The editable sentence file with `{slot}` templates.
        general_path: General receptionist phrases (same format), added to the corpus.
        dict_path: Source pronunciation dictionary (CMUdict by default).
        discount_mass: Back-off mass for unseen sequences (see `build_arpa`).
    """
    sentences = business_sentences(
        profile,
        corpus_text=corpus_text(corpus_path, general_path),
        today=profile.local_now(now).date(),
    )
    return write_sentence_model(
        sentences, out_dir, name="business", dict_path=dict_path, discount_mass=discount_mass
    )


def write_sentence_model(
    sentences: Iterable[str],
    out_dir: Path,
    *,
    name: str,
    dict_path: Path = DEFAULT_DICT,
    discount_mass: float = DISCOUNT_MASS,
) -> LanguageModelFiles:
    """Write `NAME.lm` and `NAME.dict` for exactly these sentences into `out_dir`.

    Each file is written beside its place and renamed into it, so server processes starting
    together (`WORKERS`) never read a file another one is half-way through writing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    vocabulary = read_dictionary_words(dict_path)
    arpa, used, dropped = build_arpa(sentences, vocabulary, discount_mass=discount_mass)
    lm_path = out_dir / f"{name}.lm"
    with _replacing(lm_path) as partial:
        partial.write_text(arpa, encoding="utf-8")
    small_dict = out_dir / f"{name}.dict"
    with _replacing(small_dict) as partial:
        write_dictionary(used, partial, dict_path)
    return LanguageModelFiles(lm_path, small_dict, frozenset(used), frozenset(dropped))


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A private file to write; renamed over `path` (atomically) once it is complete."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)

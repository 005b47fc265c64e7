"""End-of-turn benchmark: the wait after the caller's last word, and false cut-offs, per strategy.

Run: uv run python -m devtools.bench.turn_end [--load N] [--strategy NAME ...] [--limit K]

Every labelled utterance (turn_end_utterances.yaml: short endings, full questions, and
sentences with a mid-sentence pause) is synthesized with eSpeak, sent over an 8 kHz mu-law
line, and fed in real time to a Pipecat user aggregator configured as in bot.py with each
strategy in turn (see turn_end_harness.py). `--load N` runs N such calls at once in this one
process (one event loop, like one server worker), all measured, to see how a strategy behaves
on a busy box; on a shared 2-core machine 8 calls keep up, 20 saturate the loop (every strategy
then waits seconds). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from loguru import logger

from devtools.bench.turn_end_audio import SpokenUtterance, load_utterances, speak
from devtools.bench.turn_end_harness import HarnessOptions, ItemResult, StrategyResult, run_strategy
from devtools.bench.turn_end_strategies import NOT_RUNNABLE, by_names

PIPELINE_RATE = 16000  # bot.py's PIPELINE_IN_RATE

HEADER = (
    "| strategy | calls | turns | wait median | wait p95 | wait max | short median | short p95 "
    "| false cut-offs (pause items) | no turn end |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation, honest for small samples)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _secs(values: list[float], pct: float | None) -> str:
    if not values:
        return "-"
    value = statistics.median(values) if pct is None else percentile(values, pct)
    return f"{value:.2f} s"


def table_row(result: StrategyResult) -> str:
    """One markdown row: waits over turns that ended after the last word."""
    items: list[ItemResult] = result.items
    waits = [i.wait_s for i in items if i.wait_s is not None]
    short = [i.wait_s for i in items if i.kind == "short" and i.wait_s is not None]
    pause_items = [i for i in items if i.kind == "pause"]
    cut = sum(1 for i in pause_items if i.cutoffs)
    other_cuts = sum(1 for i in items if i.kind != "pause" and i.cutoffs)
    cut_text = f"{cut}/{len(pause_items)}" + (f" (+{other_cuts} other)" if other_cuts else "")
    missed = sum(1 for i in items if i.wait_s is None)
    wait_max = f"{max(waits):.2f} s" if waits else "-"
    return (
        f"| {result.strategy} | {result.copies} | {len(items)} | {_secs(waits, None)} "
        f"| {_secs(waits, 95)} | {wait_max} | {_secs(short, None)} | {_secs(short, 95)} "
        f"| {cut_text} | {missed} |"
    )


async def speak_all(limit: int | None, falling_pauses: bool) -> list[SpokenUtterance]:
    """The labelled set as pipeline-input audio."""
    items = load_utterances(limit=limit, falling_pauses=falling_pauses)
    return [await speak(u, PIPELINE_RATE) for u in items]


async def run(args: argparse.Namespace) -> None:
    """Measure each chosen strategy one after the other and print the table."""
    spoken = await speak_all(args.limit, args.falling_pauses)
    options = HarnessOptions(
        max_tail_secs=args.max_tail, stt_final_secs=args.stt_secs, stt_mode=args.stt
    )
    after = "each segment's last word" if args.stt == "speech" else "each VAD stop (Finalize)"
    tone = "falling" if args.falling_pauses else "continuation"
    print(
        f"{len(spoken)} utterances, {args.load} simultaneous call(s) per strategy, "
        f"Deepgram-like final {options.stt_final_secs:.2f} s after {after}, "
        f"{tone} tone before pauses\n"
    )
    print(HEADER)
    for spec in by_names(args.strategy):
        started = time.monotonic()
        result = await run_strategy(spec, spoken, copies=args.load, options=options)
        print(table_row(result), flush=True)
        if args.verbose:
            for item in result.items:
                print(f"<!-- {item} -->", file=sys.stderr)
        logger.info(f"{spec.name}: {time.monotonic() - started:.0f} s")
    if not args.strategy:
        for name, why in NOT_RUNNABLE.items():
            print(f"| {name} | - | - | {why} | | | | | | |")


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="End-of-turn wait and false cut-offs.")
    parser.add_argument("--load", type=int, default=1, help="simultaneous calls (default 1)")
    parser.add_argument(
        "--strategy", action="append", help="run only strategies whose name starts with this"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only K utterances")
    parser.add_argument(
        "--max-tail", type=float, default=6.0, help="seconds to wait for a turn end"
    )
    parser.add_argument(
        "--stt",
        choices=["speech", "finalize"],
        default="speech",
        help="final transcript after each segment's last word, or after each VAD stop",
    )
    parser.add_argument("--stt-secs", type=float, default=0.15, help="delay of that final")
    parser.add_argument(
        "--falling-pauses",
        action="store_true",
        help="speak the words before a pause with a sentence-final tone (no comma)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="per-item results")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="INFO" if args.verbose else "ERROR")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

"""`./zylin eval PATH...` and `./zylin eval --from-call ID`: the command and its report."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from eval_runner.from_call import FromCallError, write_scenario_from_call
from eval_runner.run import Brain, Result, invalid, run_scenarios
from eval_runner.scenario import Scenario, ScenarioError, load_scenario, scenario_files
from tools import ALL_TOOLS
from zylin.business import BusinessProfile, ProfileError, load_profile
from zylin.config import ROOT, Settings
from zylin.logging_setup import configure_logging
from zylin.prompts import PromptError, Prompts, load_prompts
from zylin.state import load_business

TOOL_NAMES = [tool.__name__ for tool in ALL_TOOLS]
DEFAULT_RECORDED_DIR = ROOT / "evals" / "recorded"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line (see `./zylin eval --help`)."""
    parser = argparse.ArgumentParser(
        prog="./zylin eval",
        description="Play scenario files as text calls against the configured brain (OpenAI "
        "when its key is set, else the demo brain), through the real tools on a scratch "
        "database; one row per scenario; exit 1 if any failed.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="scenario files or folders")
    parser.add_argument("--profile", type=Path, help="business profile (default: configured)")
    parser.add_argument(
        "--from-call", metavar="ID", help="write a scenario from a recorded call (id or CallSid)"
    )
    parser.add_argument("--out", type=Path, help="with --from-call: where to write it")
    parser.add_argument("--force", action="store_true", help="with --from-call: overwrite --out")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print each failed call's transcript (-vv: every call's)",
    )
    parser.add_argument("--turn-timeout", type=float, default=60.0, help="seconds per caller line")
    parser.add_argument("--log-level", default="WARNING", help="log level (default WARNING)")
    args = parser.parse_args(list(argv))
    if not args.paths and not args.from_call:
        parser.error("give scenario files or folders, or --from-call ID")
    if args.paths and args.from_call:
        parser.error("--from-call writes a scenario; run it afterwards with ./zylin eval PATH")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m eval_runner`: settings from the environment and `.env`, as the server reads."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.log_level)
    return asyncio.run(run_command(args, Settings()))


async def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command; returns the exit code (0 all passed, 1 a failure, 2 unusable input)."""
    try:
        if args.from_call:
            out = args.out or DEFAULT_RECORDED_DIR / f"call-{args.from_call}.yaml"
            path = await write_scenario_from_call(
                settings, args.from_call, out, profile=_profile(args, settings), force=args.force
            )
            print(f"wrote {_shown(path)}; run it with ./zylin eval {_shown(path)}")
            return 0
        files = scenario_files(args.paths)
        profile, prompts = _profile(args, settings), load_prompts()
        brain = Brain.configured(settings)
    except (FromCallError, ProfileError, PromptError, ValueError) as exc:
        print(f"zylin eval: {exc}", file=sys.stderr)
        return 2
    results = await _evaluate(args, files, brain, profile, prompts)
    failed = [r for r in results if not r.passed]
    print(
        f"\n{len(results) - len(failed)} passed, {len(failed)} failed "
        f"(brain: {brain.describe()}; profile: {profile.name})"
    )
    return 1 if failed or not results else 0


def _profile(args: argparse.Namespace, settings: Settings) -> BusinessProfile:
    return load_profile(args.profile) if args.profile else load_business(settings)


async def _evaluate(
    args: argparse.Namespace,
    files: list[Path],
    brain: Brain,
    profile: BusinessProfile,
    prompts: Prompts,
) -> list[Result]:
    results: list[Result] = []
    scenarios: list[Scenario] = []
    for path in files:
        try:
            scenarios.append(load_scenario(path, known_tools=TOOL_NAMES))
        except ScenarioError as exc:
            results.append(invalid(path, exc))
            print_row(results[-1], verbose=0)
    with tempfile.TemporaryDirectory(prefix="zylin-eval-") as workdir:
        results += await run_scenarios(
            scenarios,
            brain=brain,
            profile=profile,
            prompts=prompts,
            workdir=Path(workdir),
            turn_timeout_secs=args.turn_timeout,
            on_result=lambda r: print_row(r, verbose=args.verbose),
        )
    return results


def print_row(result: Result, *, verbose: int, out: TextIO | None = None) -> None:
    """`PASS  name  (path, 0.4 s)` or `FAIL  name  (path): reason; reason`."""
    out = out or sys.stdout
    where = _shown(result.path)
    if result.passed:
        print(f"PASS  {result.name}  ({where}, {result.seconds:.1f} s)", file=out, flush=True)
    else:
        print(f"FAIL  {result.name}  ({where}): {'; '.join(result.reasons)}", file=out, flush=True)
    if result.transcript is not None and verbose >= (1 if not result.passed else 2):
        for who, text in result.transcript.lines:
            print(f"        {who}: {text}", file=out)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

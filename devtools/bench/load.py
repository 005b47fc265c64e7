"""`./zylin bench load`: many simulated calls on one real Zylin server; prints one table row.

Run: ./zylin bench load --calls 10 --stagger 0.25 [--latency realistic] [--turns 3] [--workers 2]
     [--database-url postgresql+asyncpg://.../scratch] [--redis-url redis://.../14]

This process runs the Deepgram, OpenAI and Twilio fakes (loopback only) and the simulated
Twilio callers; the server runs as `./zylin serve` runs it (`python server.py`, `WORKERS`
from `--workers`, else from the environment, else one per core). Call i starts `i * stagger` s
after the first; each hears its greeting, then speaks `turns` scripted lines, each waiting
for the reply (`load_script.py` has the lines and the replies the fakes return).

How the row is measured, all on the caller's side of the sockets except CPU and memory:
- voice-to-voice: the caller's last voiced 20 ms frame -> the first bot `media` after it.
  A turn with no reply within `--unanswered-secs` (8 s) is unanswered and not in the stats.
- greeting: stream `start` sent -> the first bot `media`.
- gaps: a pause over 100 ms between two `media` of one utterance (see `load_analysis.py`).
- CPU: user + system time of the server process and all its children (/proc), sampled
  every 100 ms. First an idle baseline with no call for 2 s. After their scripted turns all
  calls meet, then say one long line at the same moment: while every call's caller is voiced
  and Zylin is silent is the listening window; while every call hears the (long) reply is
  the talking window (each trimmed at its edges). CPU per call = (cores used in the window -
  idle cores) / calls in the window, in % of one core. This extra turn is not in the
  voice-to-voice figures.
- memory: resident memory of the server tree in the talking window minus before the first
  call, divided by the calls in the window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from devtools.bench import load_script
from devtools.bench.load_analysis import CallFigures, call_figures, common_window
from devtools.bench.load_report import LoadResult, header, row
from devtools.bench.usage_sampler import UsageSampler
from devtools.caller import CallError, SimulatedCall
from devtools.fakes.latency import PRESETS
from devtools.fakes.openai_voice import synthesize_voice
from devtools.fakes.stack import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    cloud_env,
    free_port,
    running_fakes,
    server_process,
)
from zylin.config import default_worker_count
from zylin.local.espeak import synthesize_async

REPLY_SILENCE_MS = 700  # the bot's reply is over after this much silence (its dips are <200 ms)
TURN_GAP_SECS = 0.5  # the caller's pause after hearing a reply
IDLE_SETTLE_SECS = 1.0
IDLE_WINDOW_SECS = 2.0
MIB = 2**20


@dataclass(frozen=True)
class LoadOptions:
    """One run's settings (the CLI flags)."""

    calls: int = 10
    stagger: float = 0.25
    latency: str = "zero"
    turns: int = 3
    workers: int | None = None
    database_url: str | None = None  # default: a fresh SQLite file for the run
    redis_url: str | None = None  # default: none (the call count lives in the database)
    unanswered_secs: float = 8.0
    gap_over_ms: float = 100.0

    @property
    def greeting_timeout(self) -> float:
        """A burst builds every pipeline at once, so the greeting wait grows with the calls."""
        return 15.0 + 0.25 * self.calls

    @property
    def connect_timeout(self) -> float:
        """Webhook and WebSocket handshake bound: a burst queues them behind call set-ups."""
        return 10.0 + 0.25 * self.calls

    @property
    def turns_budget(self) -> float:
        """Longest one call's scripted turns can take (each: speak, reply or drain, pause)."""
        return self.turns * (3 * self.unanswered_secs + 10.0)

    @property
    def meet_timeout(self) -> float:
        """How long the first call may wait for the last one at the measurement turn."""
        return self.calls * self.stagger + self.greeting_timeout + self.turns_budget + 10.0

    @property
    def total_timeout(self) -> float:
        """The whole run's bound, after which every call is cancelled."""
        return self.meet_timeout + self.greeting_timeout + 30.0


class Meeting:
    """Where every call waits for all the others before the measurement turn."""

    def __init__(self, calls: int) -> None:
        self._missing = calls
        self._all_here = asyncio.Event()
        if calls <= 0:
            self._all_here.set()

    def arrive(self) -> None:
        """This call is ready (or out of the run: it must not keep the others waiting)."""
        self._missing -= 1
        if self._missing <= 0:
            self._all_here.set()

    async def wait(self, within: float) -> None:
        """Wait for the others; go ahead anyway after `within` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_here.wait(), within)


async def _reply(call: SimulatedCall, within: float) -> bool:
    """Wait for the bot's next utterance to start (within `within` s) and finish."""
    try:
        await call.wait_for_reply(timeout=within, silence_ms=REPLY_SILENCE_MS)
    except TimeoutError:
        return False
    return True


async def _drive(
    call: SimulatedCall, index: int, opts: LoadOptions, lines: list[str], meeting: Meeting
) -> None:
    """One caller: greeting, the scripted turns, then the shared measurement turn."""
    arrived = False
    await asyncio.sleep(index * opts.stagger)
    try:
        async with call:
            await _reply(call, opts.greeting_timeout)
            for line in lines:
                await call.say_text(line)
                if not await _reply(call, opts.unanswered_secs):
                    # Hear out a late reply so it is not taken for the next turn's answer.
                    await _reply(call, 2 * opts.unanswered_secs)
                await asyncio.sleep(TURN_GAP_SECS)
            meeting.arrive()
            arrived = True
            await meeting.wait(opts.meet_timeout)
            await call.say_text(load_script.MEASURE_LINE)
            await _reply(call, opts.greeting_timeout)
    except (CallError, TimeoutError, OSError) as exc:
        logger.warning(f"call {index} ({call.call_sid}) ended early: {exc!r}")
    finally:
        if not arrived:
            meeting.arrive()


def _cached_tts(voices: dict[str, tuple[bytes, int]]):
    """eSpeak once per line before the run, so 40 callers do not synthesize on the clock."""

    async def tts(text: str, voice: str, rate_wpm: int) -> tuple[bytes, int]:
        if text in voices:
            return voices[text]
        return await synthesize_async(text, voice=voice, rate_wpm=rate_wpm)

    return tts


def _raise_file_limit() -> None:
    """Every call holds a few sockets here (caller, fakes) and in the server: lift the soft cap."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))


def _workers_env(opts: LoadOptions) -> dict[str, str]:
    """`--workers`, else `WORKERS` from the environment, else what `./zylin serve` runs.

    Always explicit: the fakes' server environment pins one worker for the tests, so leaving
    it out measured one process while the row said "default"."""
    if opts.workers is not None:
        return {"WORKERS": str(opts.workers)}
    return {"WORKERS": os.environ.get("WORKERS") or str(default_worker_count())}


def _per_call_pct(
    sampler: UsageSampler, window: tuple[float, float] | None, calls: int, idle: float
) -> float | None:
    if window is None or calls == 0:
        return None
    cores = sampler.cores_used(*window)
    return None if cores is None else (cores - idle) / calls * 100


async def run_load(opts: LoadOptions, workdir: Path | None = None) -> LoadResult:
    """Start the fakes and a server process, place the calls, measure; always cleans up."""
    if opts.latency not in PRESETS:
        raise ValueError(f"unknown latency mode {opts.latency!r}; one of {sorted(PRESETS)}")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="zylin-load-"))
    _raise_file_limit()
    lines = load_script.caller_lines(opts.turns)
    voices = {line: await synthesize_async(line) for line in load_script.all_lines(opts.turns)}
    workers_env = _workers_env(opts)
    result = LoadResult(
        calls=opts.calls,
        stagger=opts.stagger,
        latency=opts.latency,
        workers=workers_env["WORKERS"],
        turns=opts.turns,
    )
    async with running_fakes() as fakes:
        PRESETS[opts.latency].apply(fakes.deepgram, fakes.openai)
        fakes.deepgram.set_per_call_script(load_script.transcripts(opts.turns))
        fakes.openai.set_brain(load_script.brain)
        for reply in load_script.replies(
            opts.turns
        ):  # the fake's voice, made before the clock runs
            synthesize_voice(
                reply,
                ms_per_char=fakes.openai.ms_per_char,
                max_seconds=fakes.openai.max_speech_seconds,
            )
        env = cloud_env(
            fakes,
            workdir / "load.db",
            free_port(),
            MAX_CONCURRENT_CALLS=str(max(20, opts.calls)),
            # Callers wait in silence for each other before the measurement turn: keep the
            # "are you still there?" prompt out of the run.
            SILENCE_PROMPT_SECS=str(int(opts.total_timeout) + 60),
            **workers_env,
            **({"DATABASE_URL": opts.database_url} if opts.database_url else {}),
            **({"REDIS_URL": opts.redis_url} if opts.redis_url else {}),
        )
        async with server_process(env, workdir / "server.log", start_timeout=60.0) as server:
            sampler = UsageSampler(server.process.pid)
            sampling = asyncio.create_task(sampler.run(), name="load.sampler")
            try:
                await _measure(opts, result, server.url, lines, voices, sampler)
            finally:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling
    logger.info(f"server log: {workdir / 'server.log'}")
    return result


async def _measure(
    opts: LoadOptions,
    result: LoadResult,
    url: str,
    lines: list[str],
    voices: dict[str, tuple[bytes, int]],
    sampler: UsageSampler,
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(IDLE_SETTLE_SECS)
    idle_start = loop.time()
    await asyncio.sleep(IDLE_WINDOW_SECS)
    idle = sampler.cores_used(idle_start, loop.time()) or 0.0
    rss_before = sampler.sample_now().rss_bytes
    tts = _cached_tts(voices)
    calls = [
        SimulatedCall(
            url,
            auth_token=AUTH_TOKEN,
            account_sid=ACCOUNT_SID,
            tts=tts,
            http_timeout=opts.connect_timeout,
            open_timeout=opts.connect_timeout,
        )
        for _ in range(opts.calls)
    ]
    meeting = Meeting(opts.calls)
    started, own_cpu = time.monotonic(), time.process_time()
    drives = [
        asyncio.create_task(_drive(call, i, opts, lines, meeting)) for i, call in enumerate(calls)
    ]
    try:
        async with asyncio.timeout(opts.total_timeout):
            await asyncio.gather(*drives)
    except TimeoutError:
        logger.warning(f"run stopped after {opts.total_timeout:.0f} s; reporting what was done")
    finally:
        for task in drives:
            task.cancel()
        await asyncio.gather(*drives, return_exceptions=True)
        await asyncio.gather(*(call.close() for call in calls))  # each bounded by its hang-up
    wall = time.monotonic() - started
    generator = (time.process_time() - own_cpu) / wall * 100
    logger.info(
        f"calls done in {wall:.1f} s; server idle {idle * 100:.1f} % core; load generator "
        f"(callers + fakes) {generator:.0f} % core"
    )
    if sampler.lags:
        logger.info(
            f"load generator's own loop lag: max {max(sampler.lags) * 1000:.0f} ms "
            "(large values make the caller-side timings less exact)"
        )
    _fill(result, opts, calls, sampler, idle, rss_before)


def _fill(
    result: LoadResult,
    opts: LoadOptions,
    calls: list[SimulatedCall],
    sampler: UsageSampler,
    idle: float,
    rss_before: int,
) -> None:
    limit_ms = opts.unanswered_secs * 1000
    figures: list[CallFigures] = [
        call_figures(call, opts.turns, unanswered_ms=limit_ms, gap_over_ms=opts.gap_over_ms)
        for call in calls
    ]
    result.figures = figures
    listening = [f.listening for f in figures if f.listening is not None]
    talking = [f.talking for f in figures if f.talking is not None]
    listen_window, talk_window = common_window(listening), common_window(talking)
    result.cpu_listening_pct = _per_call_pct(sampler, listen_window, len(listening), idle)
    result.cpu_talking_pct = _per_call_pct(sampler, talk_window, len(talking), idle)
    window, count = (talk_window, len(talking)) if talk_window else (listen_window, len(listening))
    if window is not None and count:
        rss = sampler.rss_near((window[0] + window[1]) / 2)
        if rss is not None:
            result.memory_mib = (rss - rss_before) / count / MIB
    windows = (("listening", listen_window, listening), ("talking", talk_window, talking))
    for name, win, n in windows:
        span = f"{win[1] - win[0]:.1f} s" if win else "none"
        logger.info(f"{name} window: {span} with {len(n)} of {opts.calls} calls")
    in_measure = [g for f in figures for g in f.heard_gaps_in_measure_ms]
    heard = len(result.heard_gaps_ms)
    logger.info(
        f"heard gaps: {heard - len(in_measure)} in the greetings and scripted turns, "
        f"{len(in_measure)} in the measure turn's reply (every call's long reply at one moment)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./zylin bench load", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--calls", type=int, default=10, help="how many calls (default 10)")
    parser.add_argument("--stagger", type=float, default=0.25, help="seconds between call starts")
    parser.add_argument("--latency", choices=sorted(PRESETS), default="zero", help="fake latency")
    parser.add_argument("--turns", type=int, default=3, help="spoken turns per call")
    parser.add_argument("--workers", type=int, default=None, help="WORKERS for the server")
    parser.add_argument(
        "--database-url", default=None, help="DATABASE_URL for the server (a scratch database!)"
    )
    parser.add_argument("--redis-url", default=None, help="REDIS_URL for the server")
    parser.add_argument(
        "--unanswered-secs", type=float, default=8.0, help="a turn with no reply by then"
    )
    parser.add_argument("--no-header", action="store_true", help="print the row only")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, run once, print the header (unless --no-header) and the row."""
    args = _parser().parse_args(argv)
    if args.calls < 1 or args.turns < 0 or args.stagger < 0:
        _parser().error("--calls must be >= 1, --turns and --stagger >= 0")
    logger.remove()
    logger.add(sys.stderr, level="INFO")
    opts = LoadOptions(
        calls=args.calls,
        stagger=args.stagger,
        latency=args.latency,
        turns=args.turns,
        workers=args.workers,
        database_url=args.database_url,
        redis_url=args.redis_url,
        unanswered_secs=args.unanswered_secs,
    )
    result = asyncio.run(run_load(opts))
    if not args.no_header:
        print(header())
    print(row(result))


if __name__ == "__main__":
    main()

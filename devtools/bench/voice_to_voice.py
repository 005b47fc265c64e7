"""Voice-to-voice latency of a real Zylin server against zero-latency local protocol fakes.

Run: ./zylin bench  (or: uv run python -m devtools.bench.voice_to_voice --calls 1 --turns 12)

The server runs as its own process (as in production); this process runs the Deepgram, OpenAI
and Twilio fakes and the simulated Twilio callers (`devtools.caller`). For each caller turn it
the time from the caller's last voiced 20 ms frame to the first `media` message back, measured
on the caller's side of the socket, with the server's own per-turn breakdown from its call
record: endpointing (VAD stop), STT finalize, turn pause, LLM and TTS first byte, and what is
left, which is Zylin's and Pipecat's own processing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from devtools.caller import SimulatedCall
from devtools.fakes.stack import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    cloud_env,
    free_port,
    running_fakes,
    server_process,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
LINE = "What are your opening hours"
REPLY = "We are open nine to five."


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation, honest for small samples)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def _one_call(url: str, turns: int, pause: float) -> tuple[str, list[float]]:
    async with SimulatedCall(url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID) as call:
        await call.wait_for_reply(timeout=20, silence_ms=700)
        for _ in range(turns):
            turn = await call.say_text(LINE)
            await call.wait_for_reply(timeout=20, silence_ms=700)
            await asyncio.sleep(pause)
            if turn.voice_to_voice_ms is None:
                raise RuntimeError("a turn got no reply")
        return call.call_sid, [t.voice_to_voice_ms for t in call.turns if t.voice_to_voice_ms]


async def run(calls: int, turns: int, vad_stop: float, turn_pause: float) -> None:
    """Start fakes and a server process (the tests' harness), place the calls, print figures."""
    workdir = Path(tempfile.mkdtemp(prefix="zylin-bench-"))
    async with running_fakes() as fakes:
        fakes.deepgram.default_transcript = LINE
        fakes.openai.default_reply = REPLY
        env = cloud_env(
            fakes,
            workdir / "bench.db",
            free_port(),
            ADMIN_TOKEN=ADMIN_TOKEN,
            VAD_STOP_SECS=str(vad_stop),
            TURN_PAUSE_SECS=str(turn_pause),
            MAX_CONCURRENT_CALLS=str(max(20, calls)),
        )
        async with server_process(env, workdir / "server.log") as server:
            started = time.monotonic()
            results = await asyncio.gather(
                *(_one_call(server.url, turns, pause=0.3 + 0.05 * i) for i in range(calls))
            )
            wall = time.monotonic() - started
            await asyncio.sleep(1.0)  # let the server flush the last turns
            async with httpx.AsyncClient(
                base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as api:
                details = [(await api.get(f"/api/calls/{sid}")).json() for sid, _ in results]
    _report(results, details, calls, turns, vad_stop, turn_pause, wall, workdir)


def _report(results, details, calls, turns, vad_stop, turn_pause, wall, workdir) -> None:
    caller = [v for _, values in results for v in values]
    rows = [
        t
        for d in details
        for t in d.get("turns", [])
        if t["role"] == "assistant" and t.get("voice_to_voice_ms")
    ]

    def stat(name: str, values: list[float]) -> None:
        if values:
            print(
                f"  {name:<34} median {statistics.median(values):7.1f} ms   "
                f"p95 {percentile(values, 95):7.1f} ms   n={len(values)}"
            )

    print(f"\nZylin voice-to-voice: {calls} call(s) x {turns} turns, zero-latency fakes")
    print(f"  VAD stop_secs={vad_stop}, turn pause={turn_pause} s, wall {wall:.1f} s")
    stat("caller-side voice-to-voice", caller)
    stat("server-side voice-to-voice", [t["voice_to_voice_ms"] for t in rows])
    stt = [t["stt_ms"] for t in rows if t.get("stt_ms") is not None]
    stat("  STT (last voice -> final text)", stt)
    stat("  LLM first token", [t["llm_ttfb_ms"] for t in rows if t.get("llm_ttfb_ms")])
    stat("  TTS first audio", [t["tts_ttfb_ms"] for t in rows if t.get("tts_ttfb_ms")])
    own = [
        t["voice_to_voice_ms"]
        - max(t.get("stt_ms") or 0.0, vad_stop * 1000)
        - turn_pause * 1000
        - (t.get("llm_ttfb_ms") or 0.0)
        - (t.get("tts_ttfb_ms") or 0.0)
        for t in rows
    ]
    stat("  left: pipeline + our code", own)
    if caller:
        wait = (vad_stop + turn_pause) * 1000
        print(f"  configured turn-end wait (VAD stop + pause): {wait:.0f} ms")
    print(f"  server log: {workdir / 'server.log'}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=1, help="simultaneous calls")
    parser.add_argument("--turns", type=int, default=12, help="caller turns per call")
    parser.add_argument("--vad-stop", type=float, default=0.2, help="VAD_STOP_SECS")
    parser.add_argument("--turn-pause", type=float, default=0.0, help="TURN_PAUSE_SECS")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.turns, args.vad_stop, args.turn_pause))


if __name__ == "__main__":
    main()

"""Command line for the simulated caller: place a call, print both sides live, save the WAV."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from devtools.caller.bot_model import demo_bot_model
from devtools.caller.call import CallError, CallTurn, SimulatedCall
from devtools.caller.script import (
    ENDINGS,
    BotUtterance,
    ScriptObserver,
    ScriptRunner,
    Step,
    parse_script,
)
from devtools.caller.transcribe import Transcriber
from devtools.caller.twiml import TwimlError

# Raw string: the backslash is the shell line continuation the reader copies, kept as text.
USAGE_EXAMPLE = r"""examples:
  python -m devtools.caller --say "What are your hours on Friday?" --say "Thanks, bye." \
      --save call.wav
  python -m devtools.caller --script booking.txt --voice en-us+f3 --rate 150
  python -m devtools.caller --server https://abc.ngrok.app --wav question.wav --dtmf 0
script lines: plain text is spoken; @wav PATH, @dtmf 0, @pause MS, @tone MS,
  @barge MS TEXT (talk over the reply MS in), @end hangup|abrupt|wait, # comment
"""


def _mask(number: str) -> str:
    return f"{number[:2]}***{number[-2:]}" if len(number) > 4 else "***"


def _defaults() -> dict[str, str | None]:
    """Token, account SID and admin token from the project's settings (env or `.env`)."""
    try:
        from zylin.config import Settings

        s = Settings()
        return {
            "auth_token": s.twilio_auth_token.get_secret_value() if s.twilio_auth_token else None,
            "account_sid": s.twilio_account_sid,
            "admin_token": s.admin_token.get_secret_value() if s.admin_token else None,
        }
    except Exception as exc:  # the caller must work outside the repo / with a broken .env
        logger.debug(f"settings not loaded: {exc}")
        return {
            "auth_token": os.environ.get("TWILIO_AUTH_TOKEN"),
            "account_sid": os.environ.get("TWILIO_ACCOUNT_SID"),
            "admin_token": os.environ.get("ADMIN_TOKEN"),
        }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests and docs can inspect it)."""
    p = argparse.ArgumentParser(
        prog="python -m devtools.caller",
        description="Call a running Zylin server exactly as Twilio would (Media Streams).",
        epilog=USAGE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--server", default="http://127.0.0.1:8000", help="server base URL")
    p.add_argument("--webhook-path", default="/twilio/voice")
    p.add_argument("--public-url", help="URL the server believes it has (ngrok): signed over")
    p.add_argument("--connect-url", help="open the stream here (scheme+host) instead of TwiML's")
    p.add_argument("--auth-token", help="Twilio auth token (default TWILIO_AUTH_TOKEN / .env)")
    p.add_argument("--account-sid", help="AccountSid to send (default TWILIO_ACCOUNT_SID)")
    p.add_argument("--admin-token", help="bearer token for GET /api/calls/{sid} (ADMIN_TOKEN)")
    p.add_argument("--from", dest="caller", default="+15555550123", help="caller number")
    p.add_argument("--to", dest="called", default="+15555550100", help="business number")
    steps = p.add_argument_group("caller turns (played in command-line order)")
    steps.add_argument(
        "--say", dest="steps", action="append", type=lambda v: Step("say", v), metavar="LINE"
    )
    steps.add_argument(
        "--wav", dest="steps", action="append", type=lambda v: Step("wav", v), metavar="FILE"
    )
    steps.add_argument(
        "--tone", dest="steps", action="append", type=lambda v: Step("tone", v), metavar="MS"
    )
    steps.add_argument(
        "--dtmf", dest="steps", action="append", type=lambda v: Step("dtmf", v), metavar="DIGITS"
    )
    steps.add_argument("--script", type=Path, help="file of caller turns (see below)")
    p.add_argument("--voice", default="en-us", help="eSpeak voice for spoken lines")
    p.add_argument("--rate", type=int, default=165, help="speaking rate, words per minute")
    p.add_argument("--end", choices=ENDINGS, help="how the call ends (default hangup)")
    p.add_argument("--silence-ms", type=float, default=1000, help="bot silence that ends a reply")
    p.add_argument("--reply-timeout", type=float, default=20, help="seconds to wait for a reply")
    p.add_argument("--no-greeting", action="store_true", help="speak first, don't wait")
    p.add_argument("--no-transcribe", action="store_true", help="skip pocketsphinx")
    p.add_argument(
        "--lm",
        type=Path,
        help="ARPA model for transcribing Zylin (default: a model of its lines when the server "
        "runs the demo brain for this checkout's profile, else pocketsphinx's general model)",
    )
    p.add_argument("--dict", type=Path, help="pronunciation dictionary for --lm")
    p.add_argument("--save", type=Path, help="save the call as stereo WAV (L caller, R Zylin)")
    p.add_argument("--timeout", type=float, default=120, help="give up on the call after this")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")
    return p


class _Printer(ScriptObserver):
    """Prints the two-sided transcript as it happens."""

    def __init__(self, call: SimulatedCall) -> None:
        self.call = call

    def _line(self, text: str, at: float | None = None) -> None:
        print(f"[{self.call.now() if at is None else at:7.2f}s] {text}", flush=True)

    def caller_line(self, step: Step) -> None:
        shown = {"say": step.value, "wav": f"<wav {step.value}>", "tone": f"<tone {step.value} ms>"}
        text = shown.get(step.kind, f"<DTMF {step.value}>")
        self._line(f"Caller: {text}")

    def bot_line(self, utterance: BotUtterance) -> None:
        words = utterance.text if utterance.text else f"<{utterance.end - utterance.start:.1f} s>"
        tag = " (interrupted)" if utterance.interrupted else ""
        self._line(f"Zylin{tag}: {words}", at=utterance.start)

    def turn_done(self, turn: CallTurn) -> None:
        v2v = turn.voice_to_voice_ms
        extra = f", {turn.clears} clear(s), {turn.stale_media} stale media" if turn.clears else ""
        if v2v is not None:
            self._line(f"        voice-to-voice {v2v:.0f} ms{extra}")

    def note(self, text: str) -> None:
        self._line(text)


async def _server_transcript(args: argparse.Namespace, call_sid: str, token: str | None) -> None:
    """Print the server's own transcript of the call, when it offers one."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{args.server.rstrip('/')}/api/calls/{call_sid}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        logger.debug(f"no server transcript: {exc}")
        return
    if response.status_code != 200:
        return
    try:
        data: Any = response.json()
    except ValueError:
        return
    lines = data.get("transcript") or data.get("turns") if isinstance(data, dict) else None
    if not isinstance(lines, list) or not lines:
        return
    print("Server transcript:")
    for item in lines:
        if isinstance(item, dict):
            who = item.get("role") or item.get("speaker") or "?"
            print(f"  {who}: {item.get('text') or item.get('content') or ''}")


def _summary(call: SimulatedCall) -> None:
    v2v = [t.voice_to_voice_ms for t in call.turns if t.voice_to_voice_ms is not None]
    if call.first_audio_at is not None:
        print(f"greeting first audio at {call.first_audio_at * 1000:.0f} ms after start")
    if v2v:
        print(
            f"voice-to-voice over {len(v2v)} turn(s): median {statistics.median(v2v):.0f} ms, "
            f"max {max(v2v):.0f} ms"
        )
    print(
        f"call closed by {call.closed_by or '?'} (code {call.close_code}); "
        f"{len(call.events_of('clear'))} clear(s), {len(call.marks_echoed)} mark(s) echoed, "
        f"{call.stale_media} stale media"
    )


async def run(args: argparse.Namespace) -> int:
    """Place the call described by `args`; returns the process exit code."""
    defaults = _defaults()
    steps: list[Step] = list(args.steps or [])
    ending = args.end
    if args.script:
        script_steps, script_end = parse_script(args.script.read_text(encoding="utf-8"))
        steps += script_steps
        ending = ending or script_end
    transcriber = None
    with tempfile.TemporaryDirectory(prefix="zylin-call-") as scratch:
        if not args.no_transcribe:
            lm, dictionary = args.lm, args.dict
            if lm is None and (model := await demo_bot_model(args.server, Path(scratch))):
                lm, dictionary = model.lm_path, model.dict_path
                print("Zylin's side is transcribed with a model of its demo-mode lines")
            transcriber = Transcriber(lm, dictionary)
            await asyncio.to_thread(transcriber.start)
        try:
            return await _place_call(args, steps, ending, transcriber, defaults)
        finally:
            if transcriber is not None:
                transcriber.close()


async def _place_call(
    args: argparse.Namespace,
    steps: list[Step],
    ending: str | None,
    transcriber: Transcriber | None,
    defaults: dict[str, str | None],
) -> int:
    """Place the call and run the script; the caller of this owns the transcriber."""
    token = args.auth_token or defaults["auth_token"]
    if not token:
        print("warning: no auth token (TWILIO_AUTH_TOKEN): requests are unsigned", file=sys.stderr)
    call = SimulatedCall(
        args.server,
        auth_token=token,
        caller=args.caller,
        called=args.called,
        account_sid=args.account_sid or defaults["account_sid"],
        webhook_path=args.webhook_path,
        public_url=args.public_url,
        connect_url=args.connect_url,
    )
    print(f"Calling {args.server}{args.webhook_path} from {_mask(args.caller)} ...", flush=True)
    code = 0
    try:
        async with call:
            assert call.twiml is not None
            print(f"Stream {call.stream_connect_url}  call {call.call_sid}", flush=True)
            runner = ScriptRunner(
                call,
                voice=args.voice,
                rate_wpm=args.rate,
                reply_silence_ms=args.silence_ms,
                reply_timeout=args.reply_timeout,
                transcriber=transcriber,
                observer=_Printer(call),
            )
            try:
                async with asyncio.timeout(args.timeout):
                    await runner.run(steps, greeting=not args.no_greeting)
                    await runner.end(ending or "hangup")
                    await runner.flush()
            except TimeoutError:
                print(f"call timed out after {args.timeout:g} s; hanging up", file=sys.stderr)
                code = 2
    except TwimlError as exc:
        print(f"error: {exc}\nThe server answered:\n{exc.body}", file=sys.stderr)
        return 1
    except (CallError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _summary(call)
    if code == 0 and not runner.completed:
        print("error: the server ended the call before the script was done", file=sys.stderr)
        code = 3
    if args.save:
        print(f"saved {call.save_wav(args.save)} (left = caller, right = Zylin)")
    await _server_transcript(args, call.call_sid, args.admin_token or defaults["admin_token"])
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m devtools.caller`.

    Exit codes: 0 done, 1 the call could not be placed, 2 timed out, 3 the server ended the
    call before the script was done.
    """
    args = build_parser().parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "WARNING")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130

"""Caller scripts: parse lines of turns and play them against a SimulatedCall with turn-taking."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from devtools.caller.audio import RATE, load_wav, tone
from devtools.caller.call import CallClosed, CallTurn, SimulatedCall
from devtools.caller.transcribe import Transcriber

ENDINGS = ("hangup", "abrupt", "wait")
_KINDS = ("wav", "dtmf", "pause", "tone", "barge", "end")


@dataclass
class Step:
    """One caller action: `say` text, play a `wav`, a test `tone` (ms), `dtmf` keys, `pause` ms.

    `interrupt_after_ms` set means: don't wait for the bot to finish; start this step that long
    after the bot's reply began (a barge-in).
    """

    kind: str
    value: str
    interrupt_after_ms: int | None = None


@dataclass
class BotUtterance:
    """One thing the bot said, as heard on the timeline, with its transcript if any."""

    start: float
    end: float
    text: str | None
    turn: CallTurn | None
    interrupted: bool = False


def parse_script(text: str) -> tuple[list[Step], str | None]:
    """Steps and the ending from a script: one caller line per line.

    Plain lines are spoken. `# ...` is a comment. Directives: `@wav path`, `@dtmf 0`,
    `@pause 1500`, `@tone 800`, `@barge 600 text` (speak 600 ms into the bot's reply),
    `@end hangup|abrupt|wait`.
    """
    steps: list[Step] = []
    ending: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            steps.append(Step("say", line))
            continue
        kind, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        try:
            if kind not in _KINDS or not rest:
                raise ValueError(f"unknown or empty directive {line!r}")
            if kind == "barge":
                ms, _, said = rest.partition(" ")
                if not said.strip():
                    raise ValueError("@barge needs a delay in ms and a line to say")
                steps.append(Step("say", said.strip(), interrupt_after_ms=int(ms)))
            elif kind == "end":
                if rest not in ENDINGS:
                    raise ValueError(f"@end must be one of {', '.join(ENDINGS)}")
                ending = rest
            else:
                if kind in ("pause", "tone"):
                    int(rest)
                steps.append(Step(kind, rest))
        except ValueError as exc:
            raise ValueError(f"script line {number}: {exc}") from None
    return steps, ending


class ScriptObserver:
    """Hooks a script run calls as things happen (the CLI prints; tests may collect)."""

    def caller_line(self, step: Step) -> None:
        """The caller is about to say / play / press `step`."""

    def bot_line(self, utterance: BotUtterance) -> None:
        """The bot finished an utterance (or was interrupted)."""

    def turn_done(self, turn: CallTurn) -> None:
        """A caller turn's reply has started (or never came): its metrics are final."""

    def note(self, text: str) -> None:
        """Something worth telling the user (no reply, call closed)."""


@dataclass
class ScriptRunner:
    """Plays steps with phone-like turn-taking: greeting, line, reply, line, reply..."""

    call: SimulatedCall
    voice: str = "en-us"
    rate_wpm: int = 165
    reply_silence_ms: float = 1000
    reply_timeout: float = 20.0
    transcriber: Transcriber | None = None
    observer: ScriptObserver | None = None

    def __post_init__(self) -> None:
        self.utterances: list[BotUtterance] = []
        self.completed = False  # every step played before the server closed the call
        self._pending: set[asyncio.Task[None]] = set()
        self._obs = self.observer or ScriptObserver()

    async def _bot_said(
        self, start: float, end: float, turn: CallTurn | None, *, interrupted: bool = False
    ) -> None:
        """Record a bot utterance; its transcript comes later so turn-taking never waits on ASR."""
        utterance = BotUtterance(start, end, None, turn, interrupted)
        self.utterances.append(utterance)
        if self.transcriber is None:
            self._obs.bot_line(utterance)
            return
        task = asyncio.create_task(self._transcribe(utterance, self.call.bot_audio(start, end)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _transcribe(self, utterance: BotUtterance, audio: bytes) -> None:
        assert self.transcriber is not None
        try:
            utterance.text = await self.transcriber.transcribe_async(audio)
        except Exception as exc:  # a broken ASR must not end the call
            logger.warning(f"transcription failed: {exc!r}")
        if utterance.turn is not None and not utterance.interrupted:
            utterance.turn.bot_text = utterance.text
        self._obs.bot_line(utterance)

    async def flush(self) -> None:
        """Wait for transcripts still being decoded (call after `end`)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _reply(self, since: float, turn: CallTurn | None) -> None:
        """Wait for the bot's answer: report the turn's latency at once, its words at the end."""
        try:
            start = await self.call.wait_for_bot_audio(self.reply_timeout, since=since)
        except TimeoutError:
            self._obs.note(f"(no reply within {self.reply_timeout:g} s)")
            if turn is not None:
                self._obs.turn_done(turn)
            return
        if turn is not None:
            self._obs.turn_done(turn)
        try:
            _, end = await self.call.wait_for_reply(
                self.reply_timeout, self.reply_silence_ms, since=since
            )
        except TimeoutError:
            self._obs.note("(the reply did not end)")
            return
        await self._bot_said(start, end, turn)

    async def _perform(self, step: Step) -> tuple[float, CallTurn | None]:
        """Do one step; returns where the bot's answer may start and the caller turn, if any."""
        call = self.call
        self._obs.caller_line(step)
        if step.kind == "dtmf":
            await call.send_dtmf(step.value)
            return call.now(), None
        if step.kind == "say":
            turn = await call.say_text(step.value, voice=self.voice, rate=self.rate_wpm)
        elif step.kind == "wav":
            pcm = await asyncio.to_thread(load_wav, step.value)
            turn = await call.say_pcm(pcm, RATE, label=Path(step.value).name)
        elif step.kind == "tone":
            turn = await call.say_pcm(tone(int(step.value)), RATE, label=f"tone {step.value} ms")
        else:
            raise ValueError(f"cannot perform step kind {step.kind!r}")
        since = turn.last_voiced_at or turn.ended_at or call.now()
        return since, turn

    async def run(self, steps: list[Step], *, greeting: bool = True) -> list[BotUtterance]:
        """Play `steps`; stops early (with a note) when the server closes the call."""
        interrupted: tuple[float, CallTurn | None] | None = None
        try:
            if greeting:
                await self._reply(-1.0, None)
            for i, step in enumerate(steps):
                if step.kind == "pause":
                    await asyncio.sleep(int(step.value) / 1000)
                    continue
                since, turn = await self._perform(step)
                if interrupted is not None:
                    # What the caller heard before talking over it (`clear` cut the rest).
                    first, before = interrupted
                    interrupted = None
                    await self._bot_said(first, since, before, interrupted=True)
                nxt = steps[i + 1] if i + 1 < len(steps) else None
                if nxt is not None and nxt.interrupt_after_ms is not None:
                    interrupted = await self._barge_in(since, turn, nxt.interrupt_after_ms)
                else:
                    await self._reply(since, turn)
            # Every step was played and answered; Zylin hanging up after its last reply
            # (a goodbye) is the script finishing, not the call being cut short.
            self.completed = True
        except CallClosed:
            self._obs.note("(the call was closed by the server)")
        return self.utterances

    async def _barge_in(
        self, since: float, turn: CallTurn | None, after_ms: int
    ) -> tuple[float, CallTurn | None] | None:
        """Wait for the reply to start and `after_ms` more; the next step then talks over it."""
        try:
            first = await self.call.wait_for_bot_audio(self.reply_timeout, since=since)
        except TimeoutError:
            self._obs.note("(no reply to interrupt)")
            return None
        if turn is not None:
            self._obs.turn_done(turn)
        await asyncio.sleep(max(0.0, first + after_ms / 1000 - self.call.now()))
        return first, turn

    async def end(self, ending: str = "hangup", within: float = 30.0) -> None:
        """Finish the call: `hangup` (stop + close), `abrupt` (close, no stop), `wait` (bot)."""
        if ending == "wait":
            try:
                await self.call.wait_closed(within)
                return
            except TimeoutError:
                self._obs.note(f"(the bot did not hang up within {within:g} s; hanging up)")
                logger.debug("script end: bot did not hang up")
        await self.call.hang_up(send_stop=ending != "abrupt")

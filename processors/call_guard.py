"""Keeps a call within bounds: maximum length, caller silence, Twilio's stop, empty replies, and
a call nobody speaks on after the greeting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    CancelWorkerFrame,
    Frame,
    FunctionCallInProgressFrame,
    FunctionCallsStartedFrame,
    InputDTMFFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    StartFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from processors.frames import PlaybackFinishedFrame
from zylin.call.playout import ProbeHeardFrame, PushFrame
from zylin.end_reason import EndReason
from zylin.telephony.media_stream.frames import TwilioStopFrame

EMPTY_REPLY_GRACE_SECS = 0.5


@dataclass(frozen=True)
class GuardLines:
    """What Zylin says when the guard steps in (from prompts/lines.yaml)."""

    still_there: str
    silence_goodbye: str
    max_duration_goodbye: str
    no_speech_goodbye: str = ""


class CallGuard(FrameProcessor):
    """Place between the LLM and the TTS.

    - Maximum call length: a polite goodbye, then the call ends once it was heard.
    - Silence: one "are you still there?", then goodbye. Counted from the end of playback
      (Twilio's mark echo). Pipecat's own `user_idle_timeout` counts from
      `BotStoppedSpeakingFrame`, which over the Twilio WebSocket fires when the audio was sent:
      the transport sends at twice real time (`_send_interval = chunk / rate / 2` in Pipecat
      1.14's fastapi.py), so up to half a reply before the caller heard it.
    - Twilio's `stop`: the call is over, so the pipeline is cancelled at once.
    - An LLM reply that ends with no words and no tool call (failure, timeout, garbage tool
      arguments) is reported through `on_empty_reply`, so the caller is never left in silence.
    - A probe's mark echoed: `on_probe_heard` runs what waited for the caller to hear a line
      (`zylin.call.playout.AfterHeard`).
    - Screening: when nobody has spoken (or pressed a key) `no_speech_secs` after the greeting
      was heard, the call is likely a machine: a short goodbye, end reason `screened`, and
      `on_no_speech` runs (to record why). 0 turns it off.
    """

    def __init__(
        self,
        *,
        lines: GuardLines,
        max_call_secs: float,
        silence_secs: float,
        on_probe_heard: Callable[[int], Awaitable[None]],
        note_end: Callable[[EndReason], None],
        say_goodbye: Callable[[EndReason, str, PushFrame], Awaitable[None]],
        is_ending: Callable[[], bool],
        on_empty_reply: Callable[[], Awaitable[None]] | None = None,
        no_speech_secs: float = 0.0,
        on_no_speech: Callable[[], Awaitable[None]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._lines = lines
        self._max_call_secs = max_call_secs
        self._silence_secs = silence_secs
        self._on_probe_heard = on_probe_heard
        self._note_end = note_end
        self._say_goodbye = say_goodbye
        self._is_ending = is_ending
        self._duration_task: asyncio.Task | None = None
        self._silence_task: asyncio.Task | None = None
        self._prompted = False
        self._user_speaking = False
        self._ending = False
        self._on_empty_reply = on_empty_reply
        self._reply_open = False
        self._reply_said_something = False
        self._reply_cut = False
        self._empty_check: asyncio.Task | None = None
        self._no_speech_secs = no_speech_secs
        self._on_no_speech = on_no_speech
        self._greeted = False
        self._someone_there = False
        self._no_speech_task: asyncio.Task | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Watch turn-taking frames; consume only our own PlaybackFinishedFrame."""
        await super().process_frame(frame, direction)
        if isinstance(frame, PlaybackFinishedFrame):
            await self._on_playback_finished()
            await self._on_greeting_heard()
            return
        if isinstance(frame, ProbeHeardFrame):
            await self._on_probe_heard(frame.probe_id)
            return
        if isinstance(frame, TwilioStopFrame):
            logger.info("Twilio stopped the stream: the call is over")
            self._note_end(EndReason.CALLER_HANGUP)
            await self.push_frame(CancelWorkerFrame(reason="twilio stop"), FrameDirection.UPSTREAM)
            return
        if isinstance(frame, StartFrame):
            self._duration_task = self.create_task(self._duration_limit(), "max-call-duration")
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._user_speaking, self._prompted, self._reply_cut = True, False, True
            await self._someone_is_there()
            await self._cancel_silence()
            await self._cancel_empty_check()
        elif isinstance(frame, InputDTMFFrame):
            await self._someone_is_there()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._user_speaking = False
        elif isinstance(frame, InterruptionFrame):
            self._reply_cut = True
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._reply_open, self._reply_said_something, self._reply_cut = True, False, False
            await self._cancel_silence()
            await self._cancel_empty_check()
        elif isinstance(frame, (FunctionCallsStartedFrame, FunctionCallInProgressFrame)):
            self._reply_said_something = True
            await self._cancel_silence()
            await self._cancel_empty_check()
        elif isinstance(frame, LLMTextFrame):
            self._reply_said_something = self._reply_said_something or bool(frame.text.strip())
        elif isinstance(frame, LLMFullResponseEndFrame):
            await self._on_reply_end()
        elif isinstance(frame, BotStartedSpeakingFrame):
            await self._cancel_silence()
            await self._cancel_empty_check()
        await self.push_frame(frame, direction)

    def set_lines(self, lines: GuardLines) -> None:
        """Speak these lines from now on (the caller switched language)."""
        self._lines = lines

    @property
    def _ended(self) -> bool:
        return self._ending or self._is_ending()

    async def cleanup(self) -> None:
        """Stop timers with the pipeline."""
        await super().cleanup()
        await self._cancel_silence()
        await self._cancel_empty_check()
        if self._no_speech_task:
            await self.cancel_task(self._no_speech_task)
            self._no_speech_task = None
        if self._duration_task:
            await self.cancel_task(self._duration_task)
            self._duration_task = None

    async def _on_reply_end(self) -> None:
        """A reply that ends with nothing to say means the LLM failed (or sent garbage).

        Checked after a short grace: a tool call's start can overtake or trail the end of its
        reply by a few milliseconds, and any sign of life in that time cancels the check.
        """
        empty = self._reply_open and not self._reply_said_something and not self._reply_cut
        self._reply_open = False
        if empty and self._on_empty_reply is not None and not self._ended:
            await self._cancel_empty_check()
            self._empty_check = self.create_task(self._empty_reply_after_grace(), "empty-reply")

    async def _empty_reply_after_grace(self) -> None:
        await asyncio.sleep(EMPTY_REPLY_GRACE_SECS)
        self._empty_check = None
        if self._on_empty_reply is not None and not self._ended:
            await self._on_empty_reply()

    async def _cancel_empty_check(self) -> None:
        if self._empty_check:
            task, self._empty_check = self._empty_check, None
            await self.cancel_task(task)

    async def _on_greeting_heard(self) -> None:
        """The first playback to finish is the greeting's: the no-speech clock starts."""
        if self._greeted:
            return
        self._greeted = True
        if self._no_speech_secs > 0 and not self._someone_there and not self._ended:
            self._no_speech_task = self.create_task(self._no_speech_timer(), "no-speech-screen")

    async def _someone_is_there(self) -> None:
        self._someone_there = True
        if self._no_speech_task:
            task, self._no_speech_task = self._no_speech_task, None
            await self.cancel_task(task)

    async def _no_speech_timer(self) -> None:
        await asyncio.sleep(self._no_speech_secs)
        self._no_speech_task = None
        if self._someone_there or self._ended:
            return
        logger.info(f"No speech {self._no_speech_secs:.0f} s after the greeting: screened")
        if self._on_no_speech is not None:
            await self._on_no_speech()
        await self._end(EndReason.SCREENED, self._lines.no_speech_goodbye)

    async def _on_playback_finished(self) -> None:
        if not self._user_speaking and not self._ended:
            await self._cancel_silence()
            self._silence_task = self.create_task(self._silence_timer(), "silence-timer")

    async def _cancel_silence(self) -> None:
        if self._silence_task:
            task, self._silence_task = self._silence_task, None
            await self.cancel_task(task)

    async def _silence_timer(self) -> None:
        await asyncio.sleep(self._silence_secs)
        self._silence_task = None
        if self._prompted:
            logger.info("Caller silent after the prompt: ending the call")
            await self._end(EndReason.SILENCE, self._lines.silence_goodbye)
        else:
            self._prompted = True
            await self.push_frame(TTSSpeakFrame(self._lines.still_there))

    async def _duration_limit(self) -> None:
        await asyncio.sleep(self._max_call_secs)
        self._duration_task = None
        logger.info(f"Call reached the {self._max_call_secs:.0f} s limit: ending it")
        await self._end(EndReason.MAX_DURATION, self._lines.max_duration_goodbye)

    async def _end(self, reason: EndReason, goodbye: str) -> None:
        if self._ended:  # the guard, end_call or the shutdown said goodbye already
            return
        self._ending = True  # before any await: the length and silence timers run apart
        await self._say_goodbye(reason, goodbye, self.push_frame)

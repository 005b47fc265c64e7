"""What a call does about a failing service: the rules alone, with no pipeline, so they are
testable with an injected clock."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum


class Service(StrEnum):
    """The services a call depends on."""

    STT = "stt"
    LLM = "llm"
    TTS = "tts"


class Reaction(StrEnum):
    """What the call does about one failure."""

    IGNORE = "ignore"  # a report of a failure already handled
    WAIT = "wait"  # counted; the service recovers by itself or the failure is acted on elsewhere
    HOLD = "hold"  # say the holding line (for the TTS that is also its retry)
    HOLD_AND_RETRY = "hold_and_retry"  # holding line, then ask the LLM again
    FALL_BACK = "fall_back"  # the service is down: move the call to the legacy path


class FaultRules:
    """One policy per service (pipecat-notes: a blanket reaction that spoke on every error,
    STT's included, ended calls).

    - LLM: a reply that ends with no words and no tool call is the one signal for every LLM
      failure (HTTP error, timeout, malformed tool arguments all end that way in Pipecat), so
      its error frames only wait. First empty reply -> hold and retry; a second in a row ->
      fall back.
    - TTS: Pipecat's OpenAI client already retried; first failure -> the holding line (which
      retries the TTS); a second in a row -> fall back (Twilio's voice says goodbye).
    - STT: Deepgram reconnects by itself, so errors wait; `stt_errors` within `stt_window_secs`
      means it is not coming back -> fall back.
    - Any service Pipecat marks unusable (a permanent error) -> fall back at once.
    """

    def __init__(
        self,
        *,
        stt_errors: int = 3,
        stt_window_secs: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stt_errors = stt_errors
        self._stt_window = stt_window_secs
        self._clock = clock
        self._in_a_row: dict[Service, int] = dict.fromkeys(Service, 0)
        self._stt_times: deque[float] = deque()

    def recovered(self, service: Service) -> None:
        """The service worked again (e.g. a reply was spoken): its next failure is a first one."""
        self._in_a_row[service] = 0
        if service == Service.STT:
            self._stt_times.clear()

    def on_error(self, service: Service, *, permanent: bool, follow_up: bool) -> Reaction:
        """The reaction to one error frame from `service`."""
        if follow_up:
            return Reaction.IGNORE
        if permanent:
            return Reaction.FALL_BACK
        if service == Service.LLM:
            return Reaction.WAIT  # acted on once, when its empty reply ends
        if service == Service.STT:
            now = self._clock()
            self._stt_times.append(now)
            while self._stt_times and now - self._stt_times[0] > self._stt_window:
                self._stt_times.popleft()
            return Reaction.FALL_BACK if len(self._stt_times) >= self._stt_errors else Reaction.WAIT
        self._in_a_row[service] += 1
        return Reaction.HOLD if self._in_a_row[service] == 1 else Reaction.FALL_BACK

    def on_empty_reply(self) -> Reaction:
        """A reply ended with no words and no tool call."""
        self._in_a_row[Service.LLM] += 1
        return Reaction.HOLD_AND_RETRY if self._in_a_row[Service.LLM] == 1 else Reaction.FALL_BACK

    def errors_in_a_row(self, service: Service) -> int:
        """How many failures in a row `service` has had (STT: within its window)."""
        if service == Service.STT:
            return len(self._stt_times)
        return self._in_a_row[service]

"""Why a call ended, and the one rule for who may say so."""

from __future__ import annotations

from enum import StrEnum

from loguru import logger


class EndReason(StrEnum):
    """The `end_reason` stored on a call record and counted in `zylin_calls_total`."""

    # Streamed calls.
    CALLER_HANGUP = "caller_hangup"
    BOT_ENDED = "bot_ended"  # Zylin said goodbye (end_call)
    TRANSFERRED = "transferred"  # handed to the owner's phone
    MOVED_TO_LEGACY = "moved_to_legacy"  # a service stayed down: the record-then-answer path
    ERROR = "error"
    MAX_DURATION = "max_duration"
    SILENCE = "silence"
    STREAM_FLOOD = "stream_flood"
    SHUTDOWN = "shutdown"  # the server stopped (SIGTERM) and the grace period ran out
    # Blocklist, rate limit (refused on the webhook) or no speech after the greeting: likely
    # spam or a machine. Never a missed call.
    SCREENED = "screened"
    # The record-then-answer path, and Twilio's final call statuses.
    LEGACY_GOODBYE = "legacy_goodbye"
    LEGACY_MESSAGE = "legacy_message"
    LEGACY_NO_INPUT = "legacy_no_input"
    LEGACY_ERROR = "legacy_error"
    LEGACY_MAX_TURNS = "legacy_max_turns"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    CANCELED = "canceled"

    @property
    def hands_off(self) -> bool:
        """Whether Twilio carries the call on elsewhere, so Zylin must not hang it up."""
        return self in (EndReason.TRANSFERRED, EndReason.MOVED_TO_LEGACY)


class CallEnd:
    """Holds a call's end reason under one rule.

    - The first reason noted wins: whatever ends the call first (the caller hanging up, the
      goodbye, the silence or length limit) is why it ended, and later noise does not rewrite it.
    - A hand-off (transfer, move to the legacy path) claims the call over any earlier reason,
      because from then on Twilio, not Zylin, decides how the call ends; if the hand-off fails,
      `release` puts back what was there before.
    """

    def __init__(self) -> None:
        self._reason: EndReason | None = None
        self._before_hand_off: EndReason | None = None

    @property
    def reason(self) -> EndReason | None:
        """Why the call ended (or is ending); None while it goes on."""
        return self._reason

    @property
    def should_hang_up(self) -> bool:
        """Whether Zylin ends the phone call itself when its pipeline ends."""
        return self._reason is None or not self._reason.hands_off

    def note(self, reason: EndReason) -> None:
        """Record `reason` unless the call already has one (the first reason wins)."""
        if reason.hands_off:
            raise ValueError(f"{reason} is a hand-off: use hand_off()")
        if self._reason is None:
            self._reason = reason

    def hand_off(self, reason: EndReason) -> None:
        """The call is handed to Twilio (`reason` must be a hand-off); it overrides the rest."""
        if not reason.hands_off:
            raise ValueError(f"{reason} is not a hand-off")
        if self._reason is None or not self._reason.hands_off:
            self._before_hand_off = self._reason
        if self._reason != reason:
            logger.debug(f"End reason: {self._reason} -> {reason}")
        self._reason = reason

    def release(self, reason: EndReason) -> None:
        """The hand-off `reason` failed: the call is Zylin's again, as it was before."""
        if self._reason == reason:
            self._reason, self._before_hand_off = self._before_hand_off, None

    def final(self) -> EndReason:
        """The reason to store: a call that ended with nothing noted was hung up by the caller."""
        return self._reason or EndReason.CALLER_HANGUP

"""Everything one call needs, in one object handed to the pipeline and the tools."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zylin.business import BusinessProfile
from zylin.config import Settings

if TYPE_CHECKING:
    from zylin.storage.repository import Repository
    from zylin.telephony import TwilioRest


@dataclass
class CallLimits:
    """Per-call caps that hold whatever the caller (or a confused LLM) asks for."""

    max_bookings: int = 3
    max_transfers: int = 3
    max_messages: int = 3
    max_sms: int = 6


@dataclass
class CallResources:
    """Per-call state, passed to `PipelineWorker(app_resources=...)`.

    Tools read it as `params.app_resources`; nothing about a call lives in module globals.
    """

    settings: Settings
    profile: BusinessProfile
    repository: Repository
    twilio: TwilioRest
    now: Callable[[], datetime]
    call_sid: str
    stream_sid: str
    caller_phone: str | None = None
    called_phone: str | None = None
    limits: CallLimits = field(default_factory=CallLimits)
    # The fixed spoken lines (prompts/lines.yaml), filled in for this business.
    lines: dict[str, str] = field(default_factory=dict)
    # Counters the tools update to enforce `limits`.
    bookings_made: int = 0
    transfers_made: int = 0
    messages_taken: int = 0
    sms_sent: int = 0
    # Why the call ended (caller_hangup, bot_ended, transferred, error, max_duration, silence).
    end_reason: str | None = None
    # Work to run once Zylin's current words have finished playing to the caller
    # (e.g. the transfer's REST update, so the caller hears "connecting you" first).
    after_speech: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Free-form extras other components hang on the call (recorders, trackers).
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def log_fields(self) -> dict[str, str]:
        """Fields to bind on every log line about this call (no phone numbers)."""
        return {"call_sid": self.call_sid}

"""Everything one call needs and knows, in one typed object handed to the pipeline and the tools."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from zylin.business import BusinessProfile
from zylin.call.playout import AfterHeard, PushFrame, say_goodbye
from zylin.call.tasks import CallTasks
from zylin.config import Settings
from zylin.end_reason import CallEnd, EndReason

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
class CallCounters:
    """What the tools have done on this call so far, checked against `CallLimits`."""

    bookings: int = 0
    transfers: int = 0
    messages: int = 0
    sms: int = 0


@dataclass
class CallContext:
    """Per-call state, passed to `PipelineWorker(app_resources=...)`.

    Tools read it as `params.app_resources`; nothing about a call lives in module globals.
    Dependencies come first, then the call's identity, then what changes as the call goes.
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
    # The fixed spoken lines (prompts/lines.yaml), filled in for this business.
    lines: dict[str, str] = field(default_factory=dict)
    # Where an unanswered transfer goes to take a message (the `<Dial action>`); None: the caller
    # hears `transfer_no_answer` and the call ends.
    transfer_fallback_url: str | None = None
    # Twilio's REST API knows this call (a transfer can hand it over); not a browser call.
    on_twilio: bool = True
    limits: CallLimits = field(default_factory=CallLimits)
    done: CallCounters = field(default_factory=CallCounters)
    end: CallEnd = field(default_factory=CallEnd)
    tasks: CallTasks = field(default_factory=CallTasks)
    heard: AfterHeard = field(init=False)
    # A transfer's REST update is queued and not yet known to have failed.
    transfer_pending: bool = False
    # Zylin said goodbye (end_call) and the call is ending.
    ending: bool = False

    def __post_init__(self) -> None:
        self.heard = AfterHeard(self.tasks)

    async def say_goodbye(self, reason: EndReason, line: str, push_frame: PushFrame) -> None:
        """Say `line` and end the call once the caller has heard it (end call, the guard's
        limits, the shutdown); from now on the call is ending."""
        self.ending = True
        await say_goodbye(self.heard, self.end, reason, line, push_frame)

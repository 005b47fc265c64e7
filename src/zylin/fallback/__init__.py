"""The legacy record-then-answer call path (TwiML <Record> + <Say>), Zylin's fallback."""

from zylin.fallback.handover import move_call_to_legacy
from zylin.fallback.routes import legacy_router
from zylin.fallback.twiml import dial_done_url, legacy_entry_url, legacy_redirect_twiml

__all__ = [
    "dial_done_url",
    "legacy_entry_url",
    "legacy_redirect_twiml",
    "legacy_router",
    "move_call_to_legacy",
]

"""Zylin's LLM tools (Pipecat direct functions), one module per domain."""

from __future__ import annotations

from tools.booking import (
    book_appointment,
    cancel_appointment,
    check_availability,
    find_my_appointments,
    reschedule_appointment,
)
from tools.end_call import end_call
from tools.escalation import escalate, transfer_to_human
from tools.messages import take_message

ALL_TOOLS = [
    check_availability,
    book_appointment,
    find_my_appointments,
    reschedule_appointment,
    cancel_appointment,
    take_message,
    transfer_to_human,
    end_call,
]


__all__ = ["ALL_TOOLS", "escalate"]

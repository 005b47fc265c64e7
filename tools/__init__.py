"""Zylin's LLM tools (Pipecat direct functions), one module per domain."""

from __future__ import annotations

from typing import Any

from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema

from tools.background import drain_background
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


def register_tools(llm: Any = None) -> ToolsSchema:
    """The tools schema to put in `LLMContext(tools=...)`.

    Pipecat 1.14 registers direct functions listed in the context's tools on the LLM service
    by itself (`register_direct_function` is deprecated), so `llm` is not touched; the
    parameter stays for callers written against older Pipecat.
    """
    del llm
    return ToolsSchema(standard_tools=list(ALL_TOOLS))


__all__ = ["ALL_TOOLS", "drain_background", "escalate", "register_tools"]

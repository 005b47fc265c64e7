"""The demo brain's public names, one import away (the parts live in the `demo_*` modules).

`demo_tool_results` reads tool results, `demo_phrasing` says things, `demo_dialog` keeps
the dialog state, `demo_policy` decides the next step, `demo_replay` holds `DemoBrain`, and
`demo_llm_service` is the Pipecat adapter.
"""

from __future__ import annotations

from zylin.local.demo_dialog import Dialog
from zylin.local.demo_llm_service import DemoBrainLLMService
from zylin.local.demo_phrasing import DEFAULT_PHRASES, load_phrases
from zylin.local.demo_policy import Reply
from zylin.local.demo_replay import DemoBrain
from zylin.local.demo_tool_results import Appointment, ToolCall

__all__ = [
    "DEFAULT_PHRASES",
    "Appointment",
    "DemoBrain",
    "DemoBrainLLMService",
    "Dialog",
    "Reply",
    "ToolCall",
    "load_phrases",
]

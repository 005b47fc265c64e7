"""The end_call tool: Zylin says goodbye and the call ends.

The tool speaks the goodbye itself (`lines.yaml: goodbye`), so the caller always hears one
whether or not the LLM wrote text before calling it, then pushes `EndWorkerFrame` right behind
it. Frames from one processor stay in order, so the goodbye is synthesized and played out by the
output transport (real-time paced, plus its closing silence) before the worker turns the frame
into an `EndFrame`, on which the Twilio serializer hangs the call up over REST.
"""

from __future__ import annotations

from pipecat.frames.frames import EndWorkerFrame, FunctionCallResultProperties, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams

from tools.common import resources_of

ENDING_KEY = "ending"


async def end_call(params: FunctionCallParams) -> None:
    """End the call when the caller is done; this says the goodbye for you."""
    resources = resources_of(params)
    first = not resources.extras.get(ENDING_KEY)
    if first:
        resources.extras[ENDING_KEY] = True
        resources.end_reason = resources.end_reason or "bot_ended"
    await params.result_callback(
        {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    if first:
        await params.llm.push_frame(TTSSpeakFrame(resources.lines["goodbye"]))
        await params.llm.push_frame(EndWorkerFrame(reason="bot_ended"))

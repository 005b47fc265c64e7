"""The end_call tool: Zylin says goodbye and the call ends.

The tool speaks the goodbye itself (`lines.yaml: goodbye`), so the caller always hears one
whether or not the LLM wrote text before calling it, and ends the call once the caller has heard
it (`CallContext.heard`); the Twilio serializer then hangs up over REST.
"""

from __future__ import annotations

from pipecat.frames.frames import FunctionCallResultProperties
from pipecat.services.llm_service import FunctionCallParams

from tools.common import context_of
from zylin.end_reason import EndReason


async def end_call(params: FunctionCallParams) -> None:
    """End the call when the caller is done; this says the goodbye for you."""
    ctx = context_of(params)
    first = not ctx.ending
    ctx.ending = True  # before any await: two end_calls in one reply say one goodbye
    await params.result_callback(
        {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    if first:
        await ctx.say_goodbye(EndReason.BOT_ENDED, ctx.lines["goodbye"], params.llm.push_frame)

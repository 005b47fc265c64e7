"""The end_call tool: hang up once Zylin's goodbye has played.

How the call ends: the result goes back with `run_llm=False` (the prompt has the LLM say its
goodbye in the same reply that calls the tool, so no second one), `end_reason` becomes
"bot_ended", and an action queued on `resources.after_speech` pushes `EndWorkerFrame` downstream
from the LLM once the goodbye has played (the pipeline runs `after_speech` on Twilio's playback
mark). The frame flushes anything queued behind the goodbye, the worker turns it into an
`EndFrame`, and the Twilio serializer hangs up over REST. If no playback ends within
`END_FALLBACK_SECS` (the LLM said nothing), a fallback says `FALLBACK_GOODBYE` and ends.
"""

from __future__ import annotations

from pipecat.frames.frames import EndWorkerFrame, FunctionCallResultProperties, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams

from tools.background import queue_after_speech
from tools.common import resources_of

ENDING_KEY = "ending"
# If no playback ends this long after end_call (the LLM said no goodbye), say one and hang up.
END_FALLBACK_SECS = 8.0
FALLBACK_GOODBYE = "Thanks for calling. Goodbye!"


async def end_call(params: FunctionCallParams) -> None:
    """End the call when the caller is done. Say a short goodbye in the same reply first."""
    resources = resources_of(params)
    llm = params.llm
    if not resources.extras.get(ENDING_KEY):
        resources.extras[ENDING_KEY] = True
        resources.end_reason = resources.end_reason or "bot_ended"

        async def hang_up() -> None:
            await llm.push_frame(EndWorkerFrame(reason="bot_ended"))

        async def goodbye_then_hang_up() -> None:
            await llm.push_frame(TTSSpeakFrame(FALLBACK_GOODBYE))
            await hang_up()

        queue_after_speech(
            resources,
            hang_up,
            fallback=goodbye_then_hang_up,
            fallback_secs=END_FALLBACK_SECS,
            name="end-call",
        )
    await params.result_callback(
        {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
    )

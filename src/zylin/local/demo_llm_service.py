"""The demo brain as a Pipecat `LLMService`: same context, text frames and tool-call path."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    Frame,
    FunctionCallFromLLM,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings

from zylin.business.profile import BusinessProfile
from zylin.local.demo_phrasing import DEFAULT_PHRASES, load_phrases
from zylin.local.demo_replay import DemoBrain
from zylin.local.heard import ExpectFrame, HeardFrame, HeardLog


class DemoBrainLLMService(LLMService):
    """An `LLMService` that answers from the business profile with fixed rules, no API.

    It reads the same `LLMContext` the OpenAI service would, speaks with `LLMTextFrame`s
    between start/end frames, and asks for tools with `FunctionCallFromLLM` through
    `run_function_calls`, so the registered tools, the assistant aggregator and the re-run
    after a tool result all work exactly as in a real call. It keeps the demo STT's
    confidence in each utterance (`HeardFrame`) to ask again rather than guess, and tells
    the STT what it asked for (`ExpectFrame`, upstream) for its n-best rescoring.
    """

    def __init__(
        self,
        *,
        profile: BusinessProfile,
        now: Callable[[], datetime],
        phrases_path: Path = DEFAULT_PHRASES,
        **kwargs: Any,
    ) -> None:
        """Create the brain.

        Args:
            profile: The business it answers for.
            now: Clock (aware datetimes) used to resolve "tomorrow" or "Monday".
            phrases_path: YAML table of everything it says.
            **kwargs: Passed to `LLMService`.
        """
        settings = LLMSettings(
            model="zylin-demo-brain",
            system_instruction=None,
            temperature=None,
            max_tokens=None,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=False,
            user_turn_completion_config=None,
        )
        kwargs.setdefault("run_in_parallel", False)
        super().__init__(settings=settings, **kwargs)
        self._brain = DemoBrain(profile, now, load_phrases(phrases_path))
        self._heard = HeardLog()

    def can_generate_metrics(self) -> bool:
        """Processing time is reported like a real LLM's."""
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer each `LLMContextFrame`; pass everything else along."""
        await super().process_frame(frame, direction)
        if isinstance(frame, HeardFrame):
            self._heard.add(frame.heard)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        try:
            await self._respond(frame.context)
        except Exception as e:  # a rule bug must cost one reply, not the call
            await self.push_error(error_msg=f"demo brain failed: {e}", exception=e)
        finally:
            await self.stop_processing_metrics()
            await self.push_frame(LLMFullResponseEndFrame())

    async def _respond(self, context: LLMContext) -> None:
        tools = context.tools
        offered = (
            frozenset(t.name for t in tools.standard_tools)
            if isinstance(tools, ToolsSchema)
            else None
        )
        reply = self._brain.respond(context.get_messages(), self._heard.confidence, offered)
        if reply.call is None:
            await self.push_frame(ExpectFrame(expect=reply.awaiting), FrameDirection.UPSTREAM)
        if reply.text:
            await self._push_llm_text(reply.text)
        if reply.call is not None:
            await self.run_function_calls(
                [
                    FunctionCallFromLLM(
                        function_name=reply.call.name,
                        tool_call_id=f"demo_{uuid.uuid4().hex[:12]}",
                        arguments=reply.call.arguments,
                        context=context,
                    )
                ]
            )

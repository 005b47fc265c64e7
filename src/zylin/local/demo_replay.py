"""The demo brain: replays the LLM context through dialog state and policy to get one reply."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pipecat.processors.aggregators.llm_context import LLMSpecificMessage, standard_message_text

from zylin.business.profile import BusinessProfile
from zylin.local.demo_dialog import Dialog, DialogTracker
from zylin.local.demo_phrasing import Phrasing
from zylin.local.demo_policy import Policy, Reply
from zylin.local.demo_tool_results import ToolCall, parse_tool_content


class DemoBrain:
    """A deterministic stand-in for the LLM: pure functions of the profile, clock and context.

    Nothing is kept between inferences: each reply replays the whole conversation, so the
    brain sees exactly what an LLM would (including tool results and interruptions).
    """

    def __init__(
        self, profile: BusinessProfile, now: Callable[[], datetime], phrases: Mapping[str, str]
    ) -> None:
        """Keep the profile, the injected clock and the phrasing table."""
        self.phrasing = Phrasing(profile, phrases)
        self._tracker = DialogTracker(profile, now, self.phrasing)
        self._policy = Policy(profile, self.phrasing)

    def say(self, key: str, **values: Any) -> str:
        """A phrase from the table with its placeholders filled."""
        return self.phrasing.say(key, **values)

    def sample_lines(self, today: date) -> list[str]:
        """Every line a caller can hear from the brain (see `Phrasing.sample_lines`)."""
        return self.phrasing.sample_lines(today)

    def respond(
        self,
        messages: list[Any],
        confidence: Callable[[str], float | None] | None = None,
        offered: frozenset[str] | None = None,
    ) -> Reply:
        """Replay the conversation to rebuild the state, then decide the next reply.

        Args:
            messages: The LLM context's messages, OpenAI-shaped.
            confidence: The recognizer's confidence in a caller turn's text, None when it
                has none (typed text, a cloud STT): such turns are trusted.
            offered: The names of the tools the call offers (None: all of them). Like an LLM,
                the brain uses only those: after hours there may be no booking tools.
        """
        d = Dialog()
        calls: dict[str, ToolCall] = {}
        reply: Reply | None = None
        for message in messages:
            if isinstance(message, LLMSpecificMessage) or not isinstance(message, Mapping):
                continue
            role = message.get("role")
            if role == "user":
                d.awaiting = reply.awaiting if reply else d.awaiting
                text = standard_message_text(message)  # type: ignore[arg-type]
                self._tracker.on_user(d, text, confidence(text) if confidence else None)
                reply = self._policy.decide(d, offered)
            elif role == "assistant":
                for tc in message.get("tool_calls") or []:
                    fn = tc.get("function", {})
                    try:
                        args = json.loads(fn.get("arguments") or "{}")
                    except json.JSONDecodeError:
                        args = {}
                    calls[str(tc.get("id"))] = ToolCall(str(fn.get("name")), args)
            elif role == "tool":
                content = message.get("content")
                call = calls.get(str(message.get("tool_call_id")))
                if call is None or content == "IN_PROGRESS":
                    continue
                d.awaiting = reply.awaiting if reply else d.awaiting
                self._tracker.on_tool_result(d, call, parse_tool_content(content))
                reply = self._policy.decide(d, offered)
            if reply is not None and reply.text:
                d.notes = []  # said once; later replies must not repeat them
        if reply is None:
            return Reply(self.say("greeting"), None, None)
        return reply

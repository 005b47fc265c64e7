"""One reply per recording: an OpenAI chat completion, or the demo brain's rules without a key."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import openai

from zylin.business import BusinessProfile
from zylin.local.demo_brain import DemoBrain, load_phrases
from zylin.local.demo_understanding import understand

INSTRUCTIONS = Path(__file__).with_name("instructions.md")
MAX_SAY_CHARS = 600
MAX_HISTORY_TURNS = 20
_TASKS_FOR_A_PERSON = ("book", "cancel", "reschedule")

LEGACY_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "take_message",
            "description": (
                "Pass a message or a request this line cannot handle (booking, changes, "
                "a person) to the owner, who calls back."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "message": {
                        "type": "string",
                        "description": "What to pass on, in the caller's words; empty if unsaid.",
                    },
                    "caller_name": {"type": "string", "description": "The caller's name."},
                    "callback_number": {"type": "string", "description": "Number to call back."},
                },
                "required": ["message"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "end_call",
            "description": "The caller is done; say goodbye and hang up.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


class AnswerKind(StrEnum):
    """What the legacy path does with one recording."""

    SAY = "say"  # speak `text` and record again
    MESSAGE = "message"  # store `message` for the owner now, say so, hang up
    ASK_MESSAGE = "ask_message"  # record a message next (`for_request`: a booking-type ask)
    GOODBYE = "goodbye"  # the caller is done


@dataclass(frozen=True)
class Answer:
    """The decision for one caller turn."""

    kind: AnswerKind
    text: str = ""
    message: str = ""
    caller_name: str | None = None
    callback_number: str | None = None
    for_request: bool = False


class AnswerError(RuntimeError):
    """The language model could not answer (HTTP error, timeout, unusable reply)."""


def legacy_system_prompt(system_prompt: str, instructions_path: Path = INSTRUCTIONS) -> str:
    """The call's system prompt with the fallback line's rules appended."""
    return f"{system_prompt.rstrip()}\n\n{instructions_path.read_text(encoding='utf-8').strip()}\n"


async def openai_answer(
    text: str,
    *,
    history: Sequence[tuple[str, str]],
    system_prompt: str,
    api_key: str,
    base_url: str | None,
    model: str,
    timeout_secs: float,
) -> Answer:
    """One non-streaming chat completion with the two legacy tools.

    Args:
        text: What the caller just said.
        history: Earlier (role, text) turns of this call, oldest first, user/assistant only.
        system_prompt: The full legacy system prompt (`legacy_system_prompt`).
        api_key: OpenAI key.
        base_url: OpenAI-compatible base URL, or None for OpenAI's.
        model: Chat model name.
        timeout_secs: Whole-request timeout (one retry inside it is the SDK's).
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
    messages += [{"role": r, "content": t} for r, t in history[-MAX_HISTORY_TURNS:]]
    messages.append({"role": "user", "content": text})
    try:
        async with openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_secs, max_retries=1
        ) as client:
            completion = await client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                tools=LEGACY_TOOLS,  # type: ignore[arg-type]
                temperature=0.3,
            )
    except openai.OpenAIError as exc:
        raise AnswerError(f"chat completion failed: {type(exc).__name__}") from exc
    if not completion.choices:
        raise AnswerError("chat completion had no choices")
    reply = completion.choices[0].message
    for call in reply.tool_calls or []:
        function = getattr(call, "function", None)
        if function is None:
            continue
        if function.name == "end_call":
            return Answer(AnswerKind.GOODBYE, text=_clip(reply.content or ""))
        if function.name == "take_message":
            args = _arguments(function.arguments)
            message = _text_arg(args, "message", 2000)
            return Answer(
                AnswerKind.MESSAGE if message else AnswerKind.ASK_MESSAGE,
                message=message,
                caller_name=_text_arg(args, "caller_name", 100) or None,
                callback_number=_text_arg(args, "callback_number", 32) or None,
            )
    if reply.content and reply.content.strip():
        return Answer(AnswerKind.SAY, text=_clip(reply.content))
    raise AnswerError("chat completion had neither text nor a known tool call")


def _arguments(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}  # malformed arguments: treat as "take a message" with nothing said yet
    return value if isinstance(value, dict) else {}


def _text_arg(args: dict[str, Any], name: str, limit: int) -> str:
    value = args.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_SAY_CHARS:
        return text
    cut = text[:MAX_SAY_CHARS]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > 0 else cut


class DemoAnswerer:
    """Keyless answers from the demo brain's understanding of the business profile.

    It answers only what needs no tool (hours, services, prices, FAQ); anything that would
    need one (booking, changes, a person) becomes a message for the owner, which is honest on
    a line that cannot book.
    """

    def __init__(
        self,
        profile: BusinessProfile,
        now: Callable[[], datetime],
        phrases: dict[str, str] | None = None,
    ) -> None:
        self._profile = profile
        self._now = now
        self._brain = DemoBrain(profile, now, phrases or load_phrases())

    def answer(self, text: str) -> Answer | None:
        """The decision for `text`; None when nothing in it was understood."""
        u = understand(text, self._profile, self._now(), awaiting=None)
        if u.intent == "end":
            return Answer(AnswerKind.GOODBYE)
        if u.intent in ("human", "message", *_TASKS_FOR_A_PERSON):
            request = u.intent in _TASKS_FOR_A_PERSON
            if u.message:
                return Answer(AnswerKind.MESSAGE, message=text.strip())
            return Answer(AnswerKind.ASK_MESSAGE, for_request=request)
        if not ([i for i in u.info if i != "greeting"] or u.faq_answer):
            return None  # a bare hello gets the legacy line's own menu, not the booking one
        reply = self._brain.respond([{"role": "user", "content": text}])
        if reply.call is not None or not reply.text:
            return None
        return Answer(AnswerKind.SAY, text=_clip(reply.text))

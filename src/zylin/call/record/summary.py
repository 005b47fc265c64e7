"""Intent and a short summary for a finished call: one LLM request, with a rule-based fallback."""

from __future__ import annotations

import json
from dataclasses import dataclass

from loguru import logger
from openai import AsyncOpenAI

from zylin.storage.repository import CallDetail

INTENTS = ("booking", "reschedule", "cancel", "question", "message", "escalation", "other")
_ACTION_INTENTS = (
    ("transfer", "escalation"),
    ("booked", "booking"),
    ("rescheduled", "reschedule"),
    ("cancelled", "cancel"),
    ("message", "message"),
)
_INSTRUCTIONS = (
    "You label phone calls to a small business's receptionist. Reply with JSON only: "
    '{"intent": one of ' + ", ".join(INTENTS) + ', "summary": one or two plain sentences '
    "for the owner saying who called, what they wanted and what was done}."
)


@dataclass(frozen=True)
class CallSummary:
    """What the owner sees first about a call."""

    intent: str
    summary: str
    source: str  # "llm" or "rules"


def summarize_by_rules(detail: CallDetail) -> CallSummary:
    """A deterministic label from what was done and said, used when the LLM is unavailable."""
    kinds = [action.kind for action in detail.actions]
    intent = next((label for kind, label in _ACTION_INTENTS if kind in kinds), None)
    user_turns = [t.text for t in detail.turns if t.role == "user"]
    if intent is None:
        intent = "question" if user_turns else "other"
    done = ", ".join(dict.fromkeys(k for k in kinds if not k.startswith("sms"))) or "no action"
    said = f' First words: "{user_turns[0][:120]}".' if user_turns else " The caller said nothing."
    summary = f"{len(user_turns)} caller turn(s); {done}.{said}"
    return CallSummary(intent=intent, summary=summary, source="rules")


async def summarize(
    detail: CallDetail, *, client: AsyncOpenAI | None, model: str, timeout_secs: float = 15.0
) -> CallSummary:
    """Ask the LLM once for intent and summary; fall back to rules on any failure."""
    fallback = summarize_by_rules(detail)
    if client is None or not detail.turns:
        return fallback
    transcript = "\n".join(f"{t.role}: {t.text}" for t in detail.turns)[-8000:]
    actions = "; ".join(f"{a.kind} {json.dumps(a.detail, default=str)}" for a in detail.actions)
    try:
        response = await client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": _INSTRUCTIONS},
                {"role": "user", "content": f"Transcript:\n{transcript}\n\nActions: {actions}"},
            ],
            response_format={"type": "json_object"},
            timeout=timeout_secs,
        )
        data = json.loads(response.choices[0].message.content or "")
        intent = str(data.get("intent", "")).strip().lower()
        summary = str(data.get("summary", "")).strip()
        if intent not in INTENTS or not summary:
            raise ValueError(f"unusable answer {data!r}")
        return CallSummary(intent=intent, summary=summary[:1000], source="llm")
    except Exception as exc:
        logger.warning(f"Call summary by LLM failed ({type(exc).__name__}); using rules")
        return fallback

"""One call's page: transcript, actions in words, a latency chart, and its recording."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from markupsafe import Markup

from zylin.owner.action_text import describe
from zylin.owner.charts import Stack, Target, bar_chart, legend
from zylin.owner.records import detail_dict
from zylin.owner.render import Pages

if TYPE_CHECKING:
    from zylin.state import AppState
    from zylin.storage.repository import CallDetail

STAGES = (
    ("STT", "stt_ms", "#9aa3b0"),
    ("LLM first token", "llm_ttfb_ms", "#2f6fde"),
    ("TTS first audio", "tts_ttfb_ms", "#2e9e6a"),
)


def latency_chart(turns: list[dict[str, Any]], target_ms: float) -> tuple[Markup, Markup] | None:
    """Zylin's replies as bars stacked by stage, the rest of voice-to-voice on top, the budget."""
    replies = [t for t in turns if t["role"] == "assistant" and t["voice_to_voice_ms"]]
    if not replies:
        return None
    stacks = [Stack(name, colour, [t[key] for t in replies]) for name, key, colour in STAGES]
    rest = [
        max(0.0, t["voice_to_voice_ms"] - sum(t[key] or 0.0 for _n, key, _c in STAGES))
        for t in replies
    ]
    stacks.append(Stack("transport and the rest", "#e08a1e", rest))
    svg = bar_chart(
        "Voice-to-voice per reply, by stage",
        [f"reply {t['seq']}" for t in replies],
        stacks,
        fmt=lambda v: f"{v / 1000:.1f} s",
        target=Target(target_ms, "budget"),
    )
    return svg, legend(stacks)


def _recording_file(state: AppState, detail: CallDetail) -> Path | None:
    """The call's WAV if it exists inside the recordings folder (never a path elsewhere)."""
    stored = detail.call.recording_path
    if not stored:
        return None
    root = state.recordings_dir.resolve()
    path = Path(stored).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


async def _detail(state: AppState, call_id: str) -> CallDetail | None:
    if call_id.isdigit() and len(call_id) <= 18:
        return await state.repository.get_call(int(call_id))
    return None


def add_routes(router: APIRouter, pages: Pages) -> None:
    """`GET /dashboard/calls/{id}` and its recording."""

    @router.get("/dashboard/calls/{call_id}")
    async def call_detail(request: Request, call_id: str) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        detail = await _detail(state, call_id)
        if detail is None:
            return pages.not_found(request, f"call {call_id}")
        escalations = await state.repository.escalations_for_call(detail.call.call_sid)
        target = state.settings.turn_latency_target_ms
        data = detail_dict(detail, escalations, target)
        for turn in data["turns"]:
            heard, text = turn["heard_text"], turn["text"]
            # Show what the caller heard, then the part cut off by the barge-in.
            turn["unheard"] = (
                text[len(heard) :].strip()
                if turn["interrupted"] and heard is not None and text.startswith(heard)
                else None
            )
        return pages.page(
            request,
            "call.html",
            **data,
            lines=[describe(a) for a in detail.actions],
            replies=[t for t in data["turns"] if t["role"] == "assistant"],
            chart=latency_chart(data["turns"], target),
            has_recording=_recording_file(state, detail) is not None,
        )

    @router.get("/dashboard/calls/{call_id}/recording")
    async def recording(request: Request, call_id: str) -> Response:
        """The WAV, with HTTP Range so the player can seek (the browser sends the cookie)."""
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        detail = await _detail(state, call_id)
        path = _recording_file(state, detail) if detail is not None else None
        if path is None:
            return pages.not_found(request, f"recording of call {call_id}")
        return FileResponse(
            path,
            media_type="audio/wav",
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

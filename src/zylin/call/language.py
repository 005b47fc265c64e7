"""A call in another of the profile's languages: its fixed lines, and the language on its record."""

from __future__ import annotations

from loguru import logger

from zylin.call.context import CallContext
from zylin.prompts import Prompts


def use_language(ctx: CallContext, prompts: Prompts, code: str) -> None:
    """From now on the tools and the keypad say the fixed lines in `code`."""
    ctx.lines.update(prompts.filled_lines(ctx.profile, code))


async def record_language(ctx: CallContext, code: str) -> None:
    """The call record keeps the language (`extra.language`, and a `language` action when it
    changes). Best effort: the call goes on if the database is away."""
    try:
        detail = await ctx.repository.get_call_by_sid(ctx.call_sid)
        extra = dict(detail.call.extra or {}) if detail is not None else {}
        if extra.get("language") == code:
            return
        extra["language"] = code
        await ctx.repository.update_call(ctx.call_sid, extra=extra)
        await ctx.repository.add_action(ctx.call_sid, "language", {"language": code})
    except Exception as exc:
        logger.error(f"Could not record the call's language ({code}): {exc}")

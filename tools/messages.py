"""The message tool: a message for the owner, stored, then texted to the owner when enabled."""

from __future__ import annotations

from pipecat.services.llm_service import FunctionCallParams

from tools.common import Result, context_of, direct_tool, record_action
from tools.notify import send_later, texts_for
from tools.validation import MAX_NAME, MAX_TEXT, ToolInputError, clean_phone, clean_text


@direct_tool
async def take_message(
    params: FunctionCallParams, caller_name: str, message: str, callback_number: str = ""
) -> Result:
    """Leave a message for the owner, who will call back.

    Args:
        caller_name: The caller's name.
        message: What the caller wants the owner to know, in their words.
        callback_number: The number to call back; leave empty to use the number they call from.
    """
    ctx = context_of(params)
    if ctx.done.messages >= ctx.limits.max_messages:
        raise ToolInputError(
            f"I've already taken {ctx.limits.max_messages} messages on this call; "
            "please put everything in one message."
        )
    name = clean_text(caller_name, what="caller's name", max_len=MAX_NAME, required=True)
    text = clean_text(message, what="message", max_len=MAX_TEXT, required=True)
    callback = clean_phone(callback_number) or ctx.caller_phone
    if not callback:
        raise ToolInputError("What number should the owner call back on?")
    stored = await ctx.repository.add_message(
        caller_name=name,
        message=text,
        caller_phone=ctx.caller_phone,
        callback_number=callback,
        call_sid=ctx.call_sid,
    )
    ctx.done.messages += 1
    await record_action(ctx, "message", {"message_id": stored.id, "caller_name": name})
    send_later(
        ctx,
        texts_for(
            ctx,
            purpose="message",
            caller_body=(
                f"{ctx.profile.name}: we got your message and will call you back at {callback}."
            ),
            owner_body=f"Message from {name} ({callback}): {text[:300]}",
        ),
    )
    return {"status": "taken", "message_id": stored.id, "callback_number": callback}

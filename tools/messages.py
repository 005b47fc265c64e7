"""The message tool: a message for the owner, stored, then texted to the owner when enabled."""

from __future__ import annotations

from pipecat.services.llm_service import FunctionCallParams

from tools.booking import _record
from tools.common import Result, direct_tool, resources_of
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
    resources = resources_of(params)
    if resources.messages_taken >= resources.limits.max_messages:
        raise ToolInputError(
            f"I've already taken {resources.limits.max_messages} messages on this call; "
            "please put everything in one message."
        )
    name = clean_text(caller_name, what="caller's name", max_len=MAX_NAME, required=True)
    text = clean_text(message, what="message", max_len=MAX_TEXT, required=True)
    callback = clean_phone(callback_number) or resources.caller_phone
    if not callback:
        raise ToolInputError("What number should the owner call back on?")
    stored = await resources.repository.add_message(
        caller_name=name,
        message=text,
        caller_phone=resources.caller_phone,
        callback_number=callback,
        call_sid=resources.call_sid,
    )
    resources.messages_taken += 1
    await _record(resources, "message", {"message_id": stored.id, "caller_name": name})
    send_later(
        resources,
        texts_for(
            resources,
            purpose="message",
            caller_body=(
                f"{resources.profile.name}: we got your message and will call you back "
                f"at {callback}."
            ),
            owner_body=f"Message from {name} ({callback}): {text[:300]}",
        ),
    )
    return {"status": "taken", "message_id": stored.id, "callback_number": callback}

"""Hand-over to a human: a live transfer to the owner's phone, or an offer to take a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.services.llm_service import FunctionCallParams

from tools.background import queue_after_speech
from tools.common import Result, direct_tool, resources_of
from tools.validation import MAX_REASON, clean_text
from zylin.call.context import CallResources
from zylin.telephony import TwilioRestError, mask_phone, twiml_dial

TRANSFER_TIMEOUT_SECS = 20  # seconds the owner's phone rings before `transfer_no_answer`
AFTER_SPEECH_FALLBACK_SECS = 12.0
# Optional `resources.extras` key: a URL whose TwiML takes a message when the owner does not
# answer (the `<Dial action>`); without it the caller hears `transfer_no_answer` and the call ends.
FALLBACK_URL_KEY = "transfer_fallback_url"
PENDING_KEY = "transfer_pending"

FAILED_NOTE = (
    "The transfer to a person failed (the phone system refused it). Apologize briefly and offer "
    "to take a message with take_message."
)


async def escalate(
    resources: CallResources,
    reason: str,
    *,
    source: str = "dtmf",
    on_failure: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    """Transfer the caller to the owner if possible, else offer a message; always recorded.

    Used by `transfer_to_human` and by the keypad's "0". Only `profile.owner_phone` is ever
    dialled. The transfer itself (Twilio REST call update to `<Dial>`) is queued on
    `resources.after_speech`, so the caller first hears the returned `say` line; if that update
    fails, the escalation is marked failed, `rest_failed` is recorded, `end_reason` is restored
    and `on_failure` runs (e.g. to have Zylin offer a message).

    Returns:
        {"status": "transferring" | "message_offered", "say": <line to speak>, ...}.
    """
    profile, now = resources.profile, resources.now()
    reason = " ".join(str(reason or "").split())[:MAX_REASON] or "caller asked for a person"
    if resources.extras.get(PENDING_KEY):
        return {"status": "transferring", "say": resources.lines["transfer_connecting"]}
    if resources.transfers_made >= resources.limits.max_transfers:
        why = "transfer limit for this call reached"
    elif not resources.twilio.configured:
        why = "transfers are not set up"
    elif not profile.owner_reachable_at(now):
        why = "nobody is available at this hour"
    else:
        return await _transfer(resources, reason, source, on_failure)
    escalation_id = await resources.repository.add_escalation(
        call_sid=resources.call_sid, reason=reason, outcome="message_offered", source=source
    )
    await _action(
        resources,
        "transfer",
        {"escalation_id": escalation_id, "outcome": "message_offered", "why": why},
    )
    logger.info(f"Escalation ({source}): offering a message ({why})")
    return {
        "status": "message_offered",
        "why": why,
        "say": resources.lines["transfer_unavailable"],
        "next": "Offer to take a message (take_message).",
    }


async def _transfer(
    resources: CallResources,
    reason: str,
    source: str,
    on_failure: Callable[[], Awaitable[None]] | None,
) -> Result:
    owner = resources.profile.owner_phone
    escalation_id = await resources.repository.add_escalation(
        call_sid=resources.call_sid, reason=reason, outcome="transferred", source=source
    )
    await _action(
        resources,
        "transfer",
        {"escalation_id": escalation_id, "outcome": "transferred", "source": source},
    )
    resources.transfers_made += 1
    resources.extras[PENDING_KEY] = True
    previous_reason = resources.end_reason
    resources.end_reason = "transferred"
    twiml = twiml_dial(
        owner,
        caller_id=resources.called_phone,
        timeout_secs=TRANSFER_TIMEOUT_SECS,
        fallback_url=resources.extras.get(FALLBACK_URL_KEY),
        say=resources.lines["transfer_no_answer"],
    )

    async def hand_over() -> None:
        try:
            await resources.twilio.update_call_twiml(resources.call_sid, twiml)
            logger.info(f"Call handed to the owner {mask_phone(owner)}")
        except TwilioRestError as exc:
            logger.warning(f"Transfer to {mask_phone(owner)} failed: {exc}")
            resources.end_reason = previous_reason
            resources.extras[PENDING_KEY] = False
            await resources.repository.set_escalation_outcome(escalation_id, "failed")
            await _action(
                resources,
                "rest_failed",
                {"what": "transfer", "escalation_id": escalation_id, "error": str(exc)[:300]},
            )
            if on_failure is not None:
                await on_failure()

    queue_after_speech(
        resources, hand_over, fallback_secs=AFTER_SPEECH_FALLBACK_SECS, name="transfer"
    )
    logger.info(f"Escalation ({source}): transferring after the current line")
    return {"status": "transferring", "say": resources.lines["transfer_connecting"]}


async def _action(resources: CallResources, kind: str, detail: Result) -> None:
    try:
        await resources.repository.add_action(resources.call_sid, kind, detail)
    except Exception as exc:
        logger.error(f"Could not record the {kind} action: {exc}")


@direct_tool
async def transfer_to_human(params: FunctionCallParams, reason: str) -> Result:
    """Connect the caller to a person (the business owner) when they ask for one or you can't help.

    Args:
        reason: Why, in a few words (for the owner's records).
    """
    resources = resources_of(params)
    why = clean_text(reason, what="reason", max_len=MAX_REASON, required=False)
    llm = params.llm

    async def offer_message() -> None:
        # Runs after the failed REST update: have Zylin apologise and offer a message.
        await llm.push_frame(
            LLMMessagesAppendFrame(
                messages=[{"role": "system", "content": FAILED_NOTE}], run_llm=True
            )
        )

    result = await escalate(resources, why, source="llm", on_failure=offer_message)
    if result["status"] == "transferring":
        result["next"] = "Say the 'say' line to the caller now; the call is then transferred."
    return result

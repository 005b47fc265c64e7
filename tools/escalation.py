"""Hand-over to a human: a live transfer to the owner's phone, or an offer to take a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams

from tools.common import Result, Said, context_of, direct_tool, record_action
from tools.validation import MAX_REASON, clean_text
from zylin.call.context import CallContext
from zylin.call.playout import PushFrame
from zylin.end_reason import EndReason
from zylin.fallback.twiml import warm_transfer_urls
from zylin.telephony import TwilioRestError, mask_phone, twiml_dial

TRANSFER_TIMEOUT_SECS = 20  # seconds the owner's phone rings before `transfer_no_answer`
AFTER_SPEECH_FALLBACK_SECS = 12.0

FAILED_NOTE = (
    "The transfer to a person failed (the phone system refused it). Apologize briefly and offer "
    "to take a message with take_message."
)


async def escalate(
    ctx: CallContext,
    reason: str,
    *,
    push_frame: PushFrame,
    source: str = "dtmf",
    on_failure: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    """Transfer the caller to the owner if possible, else offer a message; always recorded.

    Used by `transfer_to_human` and by the keypad's "0". Only `profile.owner_phone` is ever
    dialled. A transfer says `transfer_connecting` itself (through `push_frame`, the calling
    processor's) and makes the Twilio REST call update to `<Dial>` once the caller has heard
    it (`ctx.heard`); if that update fails, the escalation is marked failed, `rest_failed` is
    recorded and `on_failure` runs (e.g. to have Zylin offer a message). A message offer is
    only returned: the caller of `escalate` says it.

    Returns:
        {"status": "transferring", "said": <line>} or
        {"status": "message_offered", "say": <line to speak>, ...}.
    """
    profile, now = ctx.profile, ctx.now()
    reason = " ".join(str(reason or "").split())[:MAX_REASON] or "caller asked for a person"
    if ctx.transfer_pending:
        return {"status": "transferring", "said": ctx.lines["transfer_connecting"]}
    say = ctx.lines["transfer_unavailable"]
    if not profile.open_at(now):  # after hours there is no live transfer: a message instead
        why, say = "the business is closed", ctx.lines["closed_message_offer"]
    elif ctx.done.transfers >= ctx.limits.max_transfers:
        why = "transfer limit for this call reached"
    elif not ctx.twilio.configured:
        why = "transfers are not set up"
    elif not ctx.on_twilio:
        why = "not a phone call (the browser phone)"
    elif not profile.owner_reachable_at(now):
        why = "nobody is available at this hour"
    else:
        return await _transfer(ctx, reason, source, on_failure, push_frame)
    escalation_id = await ctx.repository.add_escalation(
        call_sid=ctx.call_sid, reason=reason, outcome="message_offered", source=source
    )
    await record_action(
        ctx,
        "transfer",
        {"escalation_id": escalation_id, "outcome": "message_offered", "why": why},
    )
    logger.info(f"Escalation ({source}): offering a message ({why})")
    return {
        "status": "message_offered",
        "why": why,
        "say": say,
        "next": "Offer to take a message (take_message).",
    }


async def _transfer(
    ctx: CallContext,
    reason: str,
    source: str,
    on_failure: Callable[[], Awaitable[None]] | None,
    push_frame: PushFrame,
) -> Result:
    owner = ctx.profile.owner_phone
    escalation_id = await ctx.repository.add_escalation(
        call_sid=ctx.call_sid, reason=reason, outcome="transferred", source=source
    )
    await record_action(
        ctx,
        "transfer",
        {"escalation_id": escalation_id, "outcome": "transferred", "source": source},
    )
    ctx.done.transfers += 1
    ctx.transfer_pending = True
    # A warm transfer: the owner hears who calls and why, and presses 1 to take the call.
    fallback_url, whisper_url = (
        warm_transfer_urls(ctx.transfer_fallback_url, ctx.call_sid, escalation_id)
        if ctx.transfer_fallback_url
        else (None, None)
    )
    twiml = twiml_dial(
        owner,
        caller_id=ctx.called_phone,
        timeout_secs=TRANSFER_TIMEOUT_SECS,
        fallback_url=fallback_url,
        say=ctx.lines["transfer_no_answer"],
        whisper_url=whisper_url,
    )

    async def hand_over() -> None:
        ctx.end.hand_off(EndReason.TRANSFERRED)  # from now on Twilio, not Zylin, ends the call
        try:
            await ctx.twilio.update_call_twiml(ctx.call_sid, twiml)
            logger.info(f"Call handed to the owner {mask_phone(owner)}")
            # The owner's phone rings from now: the whisper counts the seconds to answer.
            await record_action(ctx, "transfer_offered", {"escalation_id": escalation_id})
        except TwilioRestError as exc:
            logger.warning(f"Transfer to {mask_phone(owner)} failed: {exc}")
            ctx.end.release(EndReason.TRANSFERRED)
            ctx.transfer_pending = False
            await ctx.repository.set_escalation_outcome(escalation_id, "failed")
            await record_action(
                ctx,
                "rest_failed",
                {"what": "transfer", "escalation_id": escalation_id, "error": str(exc)[:300]},
            )
            if on_failure is not None:
                await on_failure()

    line = ctx.lines["transfer_connecting"]
    await push_frame(TTSSpeakFrame(line))
    await ctx.heard.after(
        push_frame, hand_over, fallback_secs=AFTER_SPEECH_FALLBACK_SECS, name="transfer"
    )
    logger.info(f"Escalation ({source}): transferring once the caller has heard the line")
    return {"status": "transferring", "said": line}


@direct_tool
async def transfer_to_human(params: FunctionCallParams, reason: str) -> Result:
    """Connect the caller to a person (the business owner) when they ask for one or you can't help.

    Args:
        reason: One short sentence the owner hears before picking up: who is calling and why,
            e.g. "Alex Tester about moving Friday's cleaning".
    """
    ctx = context_of(params)
    why = clean_text(reason, what="reason", max_len=MAX_REASON, required=False)
    llm = params.llm

    async def offer_message() -> None:
        # Runs after the failed REST update: have Zylin apologise and offer a message.
        await llm.push_frame(
            LLMMessagesAppendFrame(
                messages=[{"role": "system", "content": FAILED_NOTE}], run_llm=True
            )
        )

    result = await escalate(
        ctx, why, push_frame=llm.push_frame, source="llm", on_failure=offer_message
    )
    if result["status"] == "transferring":
        return Said(result)  # Zylin said "connecting you"; the LLM says nothing more
    return result

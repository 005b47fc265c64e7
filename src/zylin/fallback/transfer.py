"""A warm transfer's owner side: the whisper the owner hears on answering (who calls and why,
press 1 to accept), their answer, and what came of the transfer, recorded on the call."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from loguru import logger

from zylin.fallback.turn import public_base, twiml_response
from zylin.fallback.twiml import (
    WHISPER_ANSWER_PATH,
    WHISPER_PATH,
    connect,
    hang_up,
    say_and_hang_up,
    webhook_url,
    whisper,
)
from zylin.state import AppState
from zylin.storage.repository import ActionRecord, EscalationRecord

SignedForm = Callable[[Request, AppState, str], Awaitable[dict[str, str] | None]]

WHISPER_GATHER_SECS = 8  # how long the owner has to press 1 once the summary was said
ACCEPT_KEY = "1"
_CALL_SID = re.compile(r"^CA[0-9a-zA-Z]{1,62}$")

OFFERED, ANSWERED, ACCEPTED, DECLINED = (
    "transfer_offered",
    "transfer_answered",
    "transfer_accepted",
    "transfer_declined",
)


@dataclass(frozen=True)
class TransferRef:
    """Which call and which escalation a whisper webhook is about (from its signed query)."""

    call_sid: str
    escalation_id: int

    @classmethod
    def of(cls, request: Request) -> TransferRef | None:
        call_sid = request.query_params.get("call", "")
        escalation = request.query_params.get("escalation", "")
        if not _CALL_SID.match(call_sid) or not escalation.isdigit() or len(escalation) > 18:
            return None
        return cls(call_sid, int(escalation))

    def query(self) -> dict[str, str | int]:
        return {"call": self.call_sid, "escalation": self.escalation_id}


def transfer_outcome(actions: list[ActionRecord], escalation_id: int) -> dict[str, Any]:
    """What came of a warm transfer, from the actions its webhooks recorded.

    `accepted` (the owner pressed 1), `declined` (answered, then hung up or pressed another
    key) or `no_answer`; with `answer_secs` from ringing to the owner picking up, if they did.
    """
    mine = [a for a in actions if (a.detail or {}).get("escalation_id") == escalation_id]
    kinds = {a.kind for a in mine}
    answered = next((a for a in mine if a.kind == ANSWERED), None)
    outcome = "accepted" if ACCEPTED in kinds else "declined" if answered else "no_answer"
    answer_secs = (answered.detail or {}).get("answer_secs") if answered else None
    return {"escalation_id": escalation_id, "outcome": outcome, "answer_secs": answer_secs}


def transfer_router(signed_form: SignedForm) -> APIRouter:
    """`POST /twilio/transfer/whisper` and `/twilio/transfer/whisper/answer`."""
    router = APIRouter()

    async def opened(
        request: Request, path: str
    ) -> tuple[AppState, TransferRef, dict[str, str]] | Response:
        state: AppState = request.app.state.zylin
        form = await signed_form(request, state, path)
        if form is None:
            return Response("invalid signature", status_code=403)
        ref = TransferRef.of(request)
        parent = form.get("ParentCallSid")
        if ref is None or (parent and parent != ref.call_sid):
            return Response("not a transfer of ours", status_code=400)
        return state, ref, form

    @router.post(WHISPER_PATH)
    async def whisper_to_owner(request: Request) -> Response:
        opened_ = await opened(request, WHISPER_PATH)
        if isinstance(opened_, Response):
            return opened_
        state, ref, _form = opened_
        log = logger.bind(call_sid=ref.call_sid)
        try:
            escalation = await _escalation(state, ref)
            if escalation is None:
                log.warning(f"Whisper for unknown escalation {ref.escalation_id}: not connecting")
                return twiml_response(hang_up())
            answer_secs = await _answered(state, ref)
            log.info(f"The owner answered after {answer_secs} s: whispering the summary")
        except Exception as exc:  # the owner still hears who it is, in general words
            log.error(f"Transfer record unavailable ({exc}); whispering without the summary")
            escalation = None
        profile, prompts = state.profile, state.prompts
        summary = (
            escalation.reason
            if escalation is not None and escalation.source == "llm"
            else prompts.line("transfer_whisper_keypad", profile)
        )
        answer_url = webhook_url(public_base(state), WHISPER_ANSWER_PATH, **ref.query())
        return twiml_response(
            whisper(
                prompts.line("transfer_whisper", profile, summary=summary.rstrip(". ")),
                answer_url=answer_url,
                gather_secs=WHISPER_GATHER_SECS,
                declined=prompts.line("transfer_whisper_declined", profile),
            )
        )

    @router.post(WHISPER_ANSWER_PATH)
    async def owner_answered(request: Request) -> Response:
        opened_ = await opened(request, WHISPER_ANSWER_PATH)
        if isinstance(opened_, Response):
            return opened_
        state, ref, form = opened_
        digits = form.get("Digits", "")[:8]
        accepted = digits == ACCEPT_KEY
        log = logger.bind(call_sid=ref.call_sid)
        log.info(f"The owner {'accepted' if accepted else 'declined'} the transfer")
        try:
            await state.repository.add_action(
                ref.call_sid,
                ACCEPTED if accepted else DECLINED,
                {"escalation_id": ref.escalation_id, "digits": digits},
            )
        except Exception as exc:  # the owner's choice stands; only its record is lost
            log.error(f"Could not record the owner's answer: {exc}")
        if accepted:
            return twiml_response(connect())
        declined = state.prompts.line("transfer_whisper_declined", state.profile)
        return twiml_response(say_and_hang_up(declined))  # the caller goes on to leave a message

    return router


async def _escalation(state: AppState, ref: TransferRef) -> EscalationRecord | None:
    escalations = await state.repository.escalations_for_call(ref.call_sid)
    return next((e for e in escalations if e.id == ref.escalation_id), None)


async def _answered(state: AppState, ref: TransferRef) -> float | None:
    """Record that the owner picked up; returns the seconds since their phone started ringing
    (the `transfer_offered` action), None if that is not known."""
    detail = await state.repository.get_call_by_sid(ref.call_sid)
    offered = next(
        (
            a
            for a in (detail.actions if detail else [])
            if a.kind == OFFERED and (a.detail or {}).get("escalation_id") == ref.escalation_id
        ),
        None,
    )
    answer_secs = round((state.now() - offered.created_at).total_seconds(), 1) if offered else None
    await state.repository.add_action(
        ref.call_sid, ANSWERED, {"escalation_id": ref.escalation_id, "answer_secs": answer_secs}
    )
    return answer_secs

"""One legacy webhook's view of a call: its form, its record, and the TwiML it answers."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi.responses import Response
from loguru import logger

from zylin.end_reason import EndReason
from zylin.fallback.twiml import MESSAGE_PATH, say_and_hang_up, say_and_record, webhook_url
from zylin.state import AppState
from zylin.storage.repository import CallDetail
from zylin.telephony import mask_phone

T = TypeVar("T")


def twiml_response(twiml: str) -> Response:
    """A webhook answer Twilio reads as TwiML."""
    return Response(twiml, media_type="application/xml")


def public_base(state: AppState) -> str | None:
    """`PUBLIC_URL` if set; None makes webhook URLs relative to Twilio's last request."""
    return state.settings.public_url


class LegacyTurn:
    """One webhook's view of a legacy call: ids, form, logger, and safe record-keeping."""

    def __init__(self, state: AppState, form: dict[str, str], call_sid: str) -> None:
        self.state = state
        self.form = form
        self.call_sid = call_sid
        self.caller = form.get("From") or None
        self.log = logger.bind(call_sid=call_sid)
        self.detail: CallDetail | None = None

    def line(self, name: str) -> str:
        return self.state.prompts.line(name, self.state.profile)

    async def safe(self, what: str, operation: Awaitable[T]) -> T | None:
        """Run a record-keeping write; a database fault is logged and the call goes on."""
        try:
            return await operation
        except Exception as exc:
            self.log.error(f"Legacy path could not {what}: {exc}")
            return None

    async def load(self) -> None:
        self.detail = await self.safe(
            "read the call record", self.state.repository.get_call_by_sid(self.call_sid)
        )

    def history(self) -> list[tuple[str, str]]:
        turns = self.detail.turns if self.detail else []
        return [(t.role, t.text) for t in turns if t.role in ("user", "assistant") and t.text]

    def last_user_text(self) -> str:
        users = [text for role, text in self.history() if role == "user"]
        return users[-1] if users else ""

    async def add_turn(self, role: str, text: str) -> None:
        turns = self.detail.turns if self.detail else []
        seq = max((t.seq for t in turns), default=0) + 1
        turn_id = await self.safe(
            "store a turn",
            self.state.repository.add_turn(
                self.call_sid,
                seq=seq,
                role=role,
                text=text,
                started_at=self.state.now(),
                ended_at=self.state.now(),
            ),
        )
        if turn_id is not None:
            await self.load()  # keeps seq numbers right for the next turn of this request

    async def action(self, kind: str, detail: dict[str, Any]) -> None:
        await self.safe(
            f"record {kind}", self.state.repository.add_action(self.call_sid, kind, detail)
        )

    async def finish(self, reason: EndReason) -> None:
        await self.safe(
            "close the call record",
            self.state.repository.finish_call(
                self.call_sid, end_reason=reason.value, ended_at=self.state.now()
            ),
        )

    async def ask_for_message(self, text: str) -> Response:
        """Say `text`, then record the caller's message for the message webhook."""
        await self.add_turn("assistant", text)
        url = webhook_url(public_base(self.state), MESSAGE_PATH)
        return twiml_response(say_and_record(text, action_url=url, no_input_url=url))

    async def say_last(self, text: str, reason: EndReason) -> Response:
        await self.add_turn("assistant", text)
        await self.finish(reason)
        return twiml_response(say_and_hang_up(text))

    async def store_message(
        self,
        text: str,
        *,
        caller_name: str | None = None,
        callback_number: str | None = None,
    ) -> bool:
        """Keep what the caller said for the owner; if the database fails, log it in full."""
        recording_sid = self.form.get("RecordingSid") or None
        recording_url = self.form.get("RecordingUrl") or None
        body = text.strip() or "(the recording could not be transcribed)"
        if recording_url or recording_sid:
            body += f" [recording {recording_sid or ''} {recording_url or ''}]".replace("  ", " ")
        try:
            stored = await self.state.repository.add_message(
                caller_name=(caller_name or "Unknown caller")[:100],
                message=body,
                caller_phone=self.caller,
                callback_number=(callback_number or self.caller or "")[:32] or None,
                call_sid=self.call_sid,
            )
        except Exception as exc:
            # Nothing recorded may be lost: the log is the last place the message can live.
            self.log.error(
                f"Could not store a message from {mask_phone(self.caller)} ({exc}); "
                f"message kept here: {body!r}"
            )
            return False
        self.log.info("Stored a message for the owner from the legacy path")
        await self.action(
            "message",
            {"message_id": stored.id, "source": "legacy", "recording_sid": recording_sid},
        )
        return True

"""A call's actions as sentences for the owner, each linked to what it made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zylin.storage.repository import ActionRecord

RECIPIENTS = {"caller": "the caller", "owner": "you"}
PURPOSES = {
    "booked": "booking confirmation",
    "rescheduled": "new time",
    "cancelled": "cancellation",
    "message": "message",
}


@dataclass(frozen=True)
class ActionLine:
    """One action as the owner reads it."""

    text: str
    link: str | None
    failed: bool
    kind: str
    created_at: datetime


def _when(detail: dict[str, Any], key: str = "start") -> str:
    """'Wed 2 Dec 11:00' from the tools' local `YYYY-MM-DDTHH:MM`, else their words."""
    raw = str(detail.get(key) or "")
    try:
        moment = datetime.strptime(raw, "%Y-%m-%dT%H:%M")
    except ValueError:
        return str(detail.get("when") or "").strip()
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def _service(detail: dict[str, Any]) -> str:
    service = str(detail.get("service") or "appointment").strip()
    article = "an" if service[:1].lower() in "aeiou" else "a"
    return f"{article} {service.lower()}"


def _appointment_link(detail: dict[str, Any]) -> str | None:
    ref = detail.get("appointment_id")
    return f"/dashboard/appointments/{ref}" if isinstance(ref, int) else None


def describe(action: ActionRecord) -> ActionLine:
    """The sentence for one action ("Booked a cleaning, Wed 2 Dec 11:00")."""
    d = action.detail or {}
    kind, link, failed = action.kind, None, False
    when = _when(d)
    if kind == "booked":
        text, link = f"Booked {_service(d)}" + (f", {when}" if when else ""), _appointment_link(d)
    elif kind == "rescheduled":
        was = str(d.get("previous_when") or "").strip()
        text = f"Moved {_service(d)}" + (f" to {when}" if when else "")
        text += f" (was {was})" if was else ""
        link = _appointment_link(d)
    elif kind == "cancelled":
        text = f"Cancelled {_service(d)}" + (f", {when}" if when else "")
        link = _appointment_link(d)
    elif kind == "message":
        name = str(d.get("caller_name") or "the caller")
        text = f"Took a message from {name}"
        ref = d.get("message_id")
        link = f"/dashboard/messages#message-{ref}" if isinstance(ref, int) else None
    elif kind == "transfer":
        outcome = str(d.get("outcome") or "")
        failed = outcome not in ("", "transferred")
        text = "Put the call through to you" if not failed else f"Transfer {outcome}"
    elif kind in ("sms", "sms_failed"):
        who = RECIPIENTS.get(str(d.get("recipient")), "someone")
        purpose = PURPOSES.get(str(d.get("purpose")), "")
        failed = kind == "sms_failed"
        what = f" the {purpose}" if purpose else ""
        text = (
            f"Could not text {who}{what}: {d.get('error') or 'unknown error'}"
            if failed
            else f"Texted {who}{what}"
        )
    else:
        failed = kind.endswith("_failed") or "error" in d
        text = kind.replace("_", " ").capitalize()
    return ActionLine(
        text=text.strip(), link=link, failed=failed, kind=kind, created_at=action.created_at
    )

"""What Twilio does with a `<Dial>` it was given by a call update, played out for tests.

`TwilioRestFake` records the TwiML a live call was updated with; `run_dial` then acts as
Twilio would on it: rings the number, and if the person answers, fetches the `<Number url>`
whisper (signed, as Twilio signs webhooks), presses a key on its `<Gather>`, and finally POSTs
the `<Dial action>` with `DialCallStatus`. Every answer is parsed as TwiML.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
from twilio.request_validator import RequestValidator

from devtools.fakes.twilio_rest_server import TwilioRestFake


class DialError(AssertionError):
    """The call was never given a `<Dial>`, or a webhook did not answer with TwiML."""


@dataclass
class DialRun:
    """What happened, as Twilio saw it."""

    number: str
    whisper: str | None = None  # what the answering person heard before being connected
    connected: bool = False
    dial_status: str = "no-answer"
    after: ET.Element | None = None  # the TwiML the caller's call continued with
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def dial_of(fake: TwilioRestFake, call_sid: str) -> ET.Element:
    """The `<Dial>` of the newest TwiML update of `call_sid`."""
    for update in reversed(fake.call_updates):
        if update.get("CallSid") == call_sid and "Twiml" in update:
            dial = ET.fromstring(str(update["Twiml"])).find("Dial")
            if dial is not None:
                return dial
    raise DialError(f"call {call_sid} was never updated with a <Dial>")


async def run_dial(
    fake: TwilioRestFake,
    call_sid: str,
    *,
    answer: bool = True,
    press: str | None = "1",
    base_url: str | None = None,
) -> DialRun:
    """Play out the newest `<Dial>` of `call_sid`.

    Args:
        fake: The Twilio fake that recorded the call update.
        call_sid: The caller's call (the `<Dial>`'s parent).
        answer: Whether the dialled person picks up (else `DialCallStatus=no-answer`).
        press: The key they press on the whisper's `<Gather>`; None hangs up without one.
        base_url: Where relative URLs point (the server that gave the TwiML).
    """
    dial = dial_of(fake, call_sid)
    number_el = dial.find("Number")
    number = (number_el.text if number_el is not None else dial.text) or ""
    run = DialRun(number=number.strip())
    validator = RequestValidator(fake.auth_token or "")
    child = "CA" + secrets.token_hex(16)
    leg = {
        "AccountSid": fake.account_sid,
        "CallSid": child,
        "ParentCallSid": call_sid,
        "To": run.number,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }
    async with aiohttp.ClientSession() as http:

        async def post(url: str, form: dict[str, str]) -> ET.Element:
            signature = validator.compute_signature(url, form)
            run.requests.append((url, form))
            async with http.post(url, data=form, headers={"X-Twilio-Signature": signature}) as r:
                body = await r.text()
                if r.status != 200:
                    raise DialError(f"{url} answered {r.status}: {body[:200]}")
            return ET.fromstring(body)

        whisper_url = number_el.get("url") if number_el is not None else None
        if answer and whisper_url:
            whisper_url = urljoin(base_url or "", whisper_url)
            owner_side = await post(whisper_url, leg)
            gather = owner_side.find("Gather")
            run.whisper = " ".join(el.text or "" for el in owner_side.iter("Say")).strip()
            if gather is not None:
                run.whisper = " ".join(el.text or "" for el in gather.iter("Say")).strip()
            if gather is not None and press is not None:
                answer_url = urljoin(whisper_url, gather.get("action") or whisper_url)
                reply = await post(answer_url, {**leg, "Digits": press})
                run.connected = reply.find("Hangup") is None
            else:
                run.connected = gather is None and owner_side.find("Hangup") is None
        elif answer:
            run.connected = True
        # Twilio reports a leg that answered as completed, whether or not it was bridged.
        run.dial_status = "completed" if answer else "no-answer"
        action = dial.get("action")
        if action:
            parent = fake.calls.get(call_sid, {})
            form = {
                "AccountSid": fake.account_sid,
                "CallSid": call_sid,
                "From": str(parent.get("from") or ""),
                "To": str(parent.get("to") or ""),
                "CallStatus": "in-progress",
                "DialCallStatus": run.dial_status,
                "DialCallSid": child,
                "DialCallDuration": "12" if run.connected else "0",
            }
            run.after = await post(urljoin(base_url or "", action), form)
    return run

"""TwiML for the legacy path: say, record the answer, redirect onto the path, hang up."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.twiml.voice_response import Gather, VoiceResponse

ENTRY_PATH = "/twilio/voice-legacy"
# The original design's path for the same webhook, kept for numbers configured with it.
ENTRY_PATHS = (ENTRY_PATH, "/api/twilio/voice-legacy")
RECORDED_PATH = "/twilio/voice-legacy/recorded"
MESSAGE_PATH = "/twilio/voice-legacy/message"
DIAL_DONE_PATH = "/twilio/voice-legacy/dial-done"
# A warm transfer: what the owner hears on answering (the `<Number url>`), and their keypress.
WHISPER_PATH = "/twilio/transfer/whisper"
WHISPER_ANSWER_PATH = "/twilio/transfer/whisper/answer"
RECORD_MAX_SECS = 30
RECORD_SILENCE_SECS = 3


def webhook_url(public_base: str | None, path: str, **query: str | int) -> str:
    """`path` on our public URL (absolute when known, else relative to Twilio's last request).

    A relative URL is what Twilio resolves against the document it fetched, so it is right
    whenever Twilio reached us directly; behind a proxy with a path prefix only the absolute
    form is, hence `PUBLIC_URL` wins when set.
    """
    base = ""
    if public_base:
        parts = urlsplit(public_base)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        if scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"public base must be an http(s) URL, got {public_base!r}")
        base = urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{base}{path}" + (f"?{qs}" if qs else "")


def legacy_entry_url(public_base: str | None, *, reason: str) -> str:
    """Where a call joins the legacy path; `reason` is recorded on the call."""
    return webhook_url(public_base, ENTRY_PATH, reason=reason)


def legacy_redirect_twiml(public_base: str | None, *, reason: str = "service_failure") -> str:
    """TwiML that moves a call onto the legacy path (webhook answer or REST `Twiml=`).

    Args:
        public_base: `PUBLIC_URL`; required (absolute) for a REST update, which has no
            document to resolve a relative URL against. None gives a relative URL.
        reason: Why (service_failure, capacity, ...), stored with the call.
    """
    response = VoiceResponse()
    response.redirect(legacy_entry_url(public_base, reason=reason), method="POST")
    return response.to_xml(xml_declaration=False)


def say_and_record(text: str, *, action_url: str, no_input_url: str) -> str:
    """Speak, then record the caller's answer for `action_url`.

    Twilio skips the action when the recording is empty and runs the next verb instead, so
    the redirect after `<Record>` is how silence reaches us (a POST without RecordingUrl).
    """
    response = VoiceResponse()
    response.say(text)
    response.record(
        action=action_url,
        method="POST",
        max_length=RECORD_MAX_SECS,
        timeout=RECORD_SILENCE_SECS,
        play_beep=True,
        trim="trim-silence",
    )
    response.redirect(no_input_url, method="POST")
    return response.to_xml()


def dial_done_url(public_base: str) -> str:
    """The `<Dial action>` of a transfer: absolute, since REST-sent TwiML has no base URL."""
    return webhook_url(public_base, DIAL_DONE_PATH)


def warm_transfer_urls(dial_done: str, call_sid: str, escalation_id: int) -> tuple[str, str]:
    """The `<Dial action>` and the `<Number url>` whisper of one warm transfer.

    Both carry the call and the escalation (in the signed query), so the whisper knows what to
    tell the owner and the dial-done webhook knows what came of it. `dial_done` is the call's
    absolute `dial_done_url`; the whisper lives beside it.
    """
    base = dial_done.split("?", 1)[0].removesuffix(DIAL_DONE_PATH)
    query = f"call={call_sid}&escalation={escalation_id}"
    return f"{base}{DIAL_DONE_PATH}?{query}", f"{base}{WHISPER_PATH}?{query}"


def whisper(text: str, *, answer_url: str, gather_secs: int, declined: str) -> str:
    """The owner's side before connecting: `text`, and press 1 to accept (`answer_url`); no
    key within `gather_secs`, and the owner hears `declined` and the leg hangs up."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=gather_secs, action=answer_url, method="POST")
    gather.say(text)
    response.append(gather)
    response.say(declined)
    response.hangup()
    return response.to_xml()


def connect() -> str:
    """An empty answer to the whisper's keypress: the owner and the caller are connected."""
    return VoiceResponse().to_xml()


def hang_up() -> str:
    """End the call with nothing more said."""
    response = VoiceResponse()
    response.hangup()
    return response.to_xml()


def say_and_hang_up(text: str) -> str:
    """Speak a last line and end the call."""
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return response.to_xml()

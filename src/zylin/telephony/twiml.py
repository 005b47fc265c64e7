"""TwiML for the stream path: connect the media stream, speak a line, ring the owner."""

from __future__ import annotations

from twilio.twiml.voice_response import Connect, Dial, Parameter, Stream, VoiceResponse


def twiml_connect_stream(stream_url: str, parameters: dict[str, str]) -> str:
    """TwiML that connects the call to our Media Streams WebSocket.

    Twilio forbids a query string on the Stream URL, so call data travels as `<Parameter>`s
    (they arrive in the `start` message's `customParameters`).
    """
    stream = Stream(url=stream_url)
    for name, value in parameters.items():
        stream.append(Parameter(name=name, value=value))
    return VoiceResponse().append(Connect().append(stream)).to_xml()


def twiml_say(text: str, *, hangup: bool = True) -> str:
    """TwiML that speaks a line with Twilio's own voice (the fallback when our TTS is down)."""
    response = VoiceResponse()
    response.say(text)
    if hangup:
        response.hangup()
    return response.to_xml()


def twiml_dial(
    number: str,
    *,
    caller_id: str | None,
    timeout_secs: int,
    fallback_url: str | None,
    say: str,
    whisper_url: str | None = None,
) -> str:
    """TwiML that rings the owner; if nobody answers, `fallback_url` takes a message.

    With `whisper_url` (a warm transfer), the number is a `<Number url=...>` noun: when the
    owner answers, Twilio runs that URL's TwiML on the owner's side only (the summary, "press
    1 to accept") before the two are connected. Without it, the number is the `<Dial>`'s text.
    """
    response = VoiceResponse()
    dial = Dial(timeout=int(timeout_secs), caller_id=caller_id, action=fallback_url)
    if whisper_url is None:
        dial.value = number
    else:
        dial.number(number, url=whisper_url, method="POST")
    response.append(dial)
    response.say(say)
    return response.to_xml()


def twiml_forward(
    say: str, number: str, *, caller_id: str | None, timeout_secs: int, action_url: str
) -> str:
    """TwiML that says `say` and sends the call on to `number` (after-hours forwarding);
    Twilio then POSTs `action_url` with `DialCallStatus`, which takes a message if nobody
    answered."""
    response = VoiceResponse()
    response.say(say)
    response.dial(
        number, timeout=int(timeout_secs), caller_id=caller_id, action=action_url, method="POST"
    )
    return response.to_xml()

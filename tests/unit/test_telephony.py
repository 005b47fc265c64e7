"""TwiML, signatures and stream tokens: the checks that keep strangers off the phone line."""

from xml.etree import ElementTree

import pytest
from twilio.request_validator import RequestValidator

from zylin.telephony import (
    SignatureChecker,
    StreamTokenError,
    StreamTokens,
    mask_phone,
    public_url_for,
    stream_url_from_public,
    twiml_connect_stream,
    twiml_dial,
    twiml_say,
)


def test_stream_url_follows_public_scheme() -> None:
    assert stream_url_from_public("https://a.ngrok.app", "media-stream/t") == (
        "wss://a.ngrok.app/media-stream/t"
    )
    assert stream_url_from_public("http://localhost:8000/", "/media-stream/t") == (
        "ws://localhost:8000/media-stream/t"
    )
    assert stream_url_from_public("https://h/prefix", "media-stream/t") == (
        "wss://h/prefix/media-stream/t"
    )
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        stream_url_from_public("ftp://h", "x")


def test_public_url_keeps_query() -> None:
    assert public_url_for("https://h/", "/twilio/voice", "a=1") == "https://h/twilio/voice?a=1"


def test_connect_twiml_escapes_parameters() -> None:
    xml = twiml_connect_stream("wss://h/media-stream/t", {"callerPhone": '+1"<&>'})
    stream = ElementTree.fromstring(xml).find("Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://h/media-stream/t"
    parameter = stream.find("Parameter")
    assert parameter is not None
    assert parameter.get("name") == "callerPhone" and parameter.get("value") == '+1"<&>'


def test_dial_twiml_only_has_the_number_given() -> None:
    xml = twiml_dial(
        "+15551230000", caller_id=None, timeout_secs=20, fallback_url=None, say="Sorry."
    )
    root = ElementTree.fromstring(xml)
    assert [child.tag for child in root] == ["Dial", "Say"]
    dial = root.find("Dial")
    assert dial is not None and dial.attrib == {"timeout": "20"}
    assert dial.text == "+15551230000" and list(dial) == []
    assert root.findtext("Say") == "Sorry."


def test_dial_twiml_carries_caller_id_and_fallback_url() -> None:
    xml = twiml_dial(
        "+15551230000",
        caller_id="+15550009999",
        timeout_secs=20,
        fallback_url="https://h/twilio/voice-legacy/dial-done?a=1&b=2",
        say="Nobody & nothing <here>.",
    )
    root = ElementTree.fromstring(xml)
    dial = root.find("Dial")
    assert dial is not None and dial.attrib == {
        "timeout": "20",
        "callerId": "+15550009999",
        "action": "https://h/twilio/voice-legacy/dial-done?a=1&b=2",
    }
    assert root.findtext("Say") == "Nobody & nothing <here>."


def test_say_twiml_hangs_up_unless_told_not_to() -> None:
    root = ElementTree.fromstring(twiml_say("Closed & <gone>."))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.findtext("Say") == "Closed & <gone>."
    root = ElementTree.fromstring(twiml_say("Hold on.", hangup=False))
    assert [child.tag for child in root] == ["Say"]


def test_signature_matches_twilio_validator() -> None:
    checker = SignatureChecker("secret")
    params = {"CallSid": "CA1", "From": "+15550001111"}
    signature = RequestValidator("secret").compute_signature("https://h/twilio/voice", params)
    assert checker.valid("https://h/twilio/voice", params, signature)
    assert not checker.valid("https://h/twilio/voice", {**params, "From": "+1"}, signature)
    assert not checker.valid("https://h/twilio/voice", params, None)
    assert not SignatureChecker("other").valid("https://h/twilio/voice", params, signature)


def test_stream_token_roundtrip_and_refusals() -> None:
    tokens = StreamTokens(b"k" * 32, ttl_secs=60)
    token = tokens.issue("CA123", now=1000.0)
    claim = tokens.verify(token, call_sid="CA123", now=1030.0)
    assert claim.call_sid == "CA123" and claim.nonce
    with pytest.raises(StreamTokenError, match="expired"):
        tokens.verify(token, now=1061.0)
    with pytest.raises(StreamTokenError, match="another call"):
        tokens.verify(token, call_sid="CA999", now=1001.0)
    with pytest.raises(StreamTokenError, match="signature"):
        StreamTokens(b"x" * 32, ttl_secs=60).verify(token, now=1001.0)
    with pytest.raises(StreamTokenError, match="malformed"):
        tokens.verify("not-a-token", now=1001.0)
    payload, mac = token.split(".")
    with pytest.raises(StreamTokenError):
        tokens.verify(payload[:-2] + "AA." + mac, now=1001.0)


def test_tokens_verify_across_instances_with_the_same_secret() -> None:
    """A token issued by one worker process verifies in another (same secret)."""
    token = StreamTokens(b"shared" * 6, ttl_secs=60).issue("CA1")
    assert StreamTokens(b"shared" * 6, ttl_secs=60).verify(token).call_sid == "CA1"


def test_mask_phone() -> None:
    assert mask_phone("+15551234567") == "+1***67"
    assert mask_phone(None) == "unknown"
    assert "555" not in mask_phone("+15551234567")

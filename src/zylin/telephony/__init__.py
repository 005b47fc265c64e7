"""Twilio glue: TwiML, webhook signatures, single-use stream tokens, and the async REST client."""

from zylin.telephony.phone import mask_phone
from zylin.telephony.rest import TwilioRest, TwilioRestError
from zylin.telephony.signatures import SignatureChecker
from zylin.telephony.tokens import StreamToken, StreamTokenError, StreamTokens
from zylin.telephony.twiml import twiml_connect_stream, twiml_dial, twiml_forward, twiml_say
from zylin.telephony.urls import http_base_of, public_url_for, stream_url_from_public

__all__ = [
    "SignatureChecker",
    "StreamToken",
    "StreamTokenError",
    "StreamTokens",
    "TwilioRest",
    "TwilioRestError",
    "http_base_of",
    "mask_phone",
    "public_url_for",
    "stream_url_from_public",
    "twiml_connect_stream",
    "twiml_dial",
    "twiml_forward",
    "twiml_say",
]

"""Simulated Twilio caller: places a call on a Zylin server as Twilio Media Streams would."""

from devtools.caller.audio import load_wav, mulaw_decode, mulaw_encode, resample, tone
from devtools.caller.call import (
    CallError,
    CallEvent,
    CallTurn,
    SimulatedCall,
    TwimlError,
    WebhookError,
)
from devtools.caller.twiml import StreamTwiml, parse_twiml

__all__ = [
    "CallError",
    "CallEvent",
    "CallTurn",
    "SimulatedCall",
    "StreamTwiml",
    "TwimlError",
    "WebhookError",
    "load_wav",
    "mulaw_decode",
    "mulaw_encode",
    "parse_twiml",
    "resample",
    "tone",
]

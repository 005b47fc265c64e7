"""Simulated Twilio caller: places a call on a Zylin server as Twilio Media Streams would."""

from zylin_call.audio import load_wav, mulaw_decode, mulaw_encode, resample, tone
from zylin_call.call import (
    CallError,
    CallEvent,
    CallTurn,
    SimulatedCall,
    TwimlError,
    WebhookError,
)
from zylin_call.twiml import StreamTwiml, parse_twiml

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

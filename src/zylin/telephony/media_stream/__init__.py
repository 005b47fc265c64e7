"""Twilio Media Streams on our side of the socket: the handshake and the frame serializer."""

from zylin.telephony.media_stream.frames import TwilioMarkFrame, TwilioStopFrame
from zylin.telephony.media_stream.handshake import HandshakeError, StreamStart, read_stream_start
from zylin.telephony.media_stream.serializer import ZylinTwilioSerializer

__all__ = [
    "HandshakeError",
    "StreamStart",
    "TwilioMarkFrame",
    "TwilioStopFrame",
    "ZylinTwilioSerializer",
    "read_stream_start",
]

"""Frames for the Twilio events Pipecat's serializer drops (`mark` echoes and `stop`)."""

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame


@dataclass
class TwilioMarkFrame(SystemFrame):
    """Twilio echoed a mark: the audio sent before it has finished playing (or was cleared).

    Parameters:
        mark_name: The mark's name, as we sent it.
    """

    mark_name: str


@dataclass
class TwilioStopFrame(SystemFrame):
    """Twilio said the stream stopped: the caller hung up or the call moved elsewhere."""

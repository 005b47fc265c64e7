"""Frames our processors send each other."""

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame


@dataclass
class PlaybackFinishedFrame(SystemFrame):
    """The caller has heard everything Zylin sent so far (Twilio echoed our last mark).

    Parameters:
        interrupted: Whether playback ended because Twilio cleared the audio (barge-in).
    """

    interrupted: bool = False

"""What can go wrong on a simulated call, as exceptions a test can catch and inspect."""

from __future__ import annotations


class CallError(RuntimeError):
    """The simulated call could not be placed or went wrong in a way a test should see."""


class WebhookError(CallError):
    """The voice webhook answered with a non-200 status; `.status` and `.body` say what."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"voice webhook answered HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class WebhookUnreachable(CallError):
    """The voice webhook did not answer (refused, reset or timed out): Twilio fails the call."""


class CallClosed(CallError):
    """The media stream closed while the caller was still waiting or speaking."""

"""Twilio request signatures: only Twilio may drive our webhooks and media streams."""

from __future__ import annotations

from twilio.request_validator import RequestValidator


class SignatureChecker:
    """Checks `X-Twilio-Signature` on webhooks and on the Media Streams upgrade request."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(self, url: str, params: dict[str, str], signature: str | None) -> bool:
        """Whether `signature` is Twilio's for this URL and these form parameters."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))

    def sign(self, url: str, params: dict[str, str]) -> str:
        """Twilio's signature for a request (what our simulated caller sends)."""
        return self._validator.compute_signature(url, params)

"""Parse the voice webhook's TwiML the way Twilio would for a `<Connect><Stream>` call."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class TwimlError(ValueError):
    """The webhook answered something other than `<Connect><Stream>`; `.body` holds it."""

    def __init__(self, message: str, body: str) -> None:
        super().__init__(message)
        self.body = body


@dataclass(frozen=True)
class StreamTwiml:
    """What `<Connect><Stream>` tells Twilio: where to open the socket and what to send."""

    url: str
    parameters: dict[str, str] = field(default_factory=dict)
    name: str | None = None


def _describe(root: ET.Element) -> str:
    """A short human summary of verbs Twilio would run instead (`<Say>`, `<Dial>`, ...)."""
    parts = []
    for verb in root:
        text = " ".join((verb.text or "").split())
        parts.append(f"<{verb.tag}>{': ' + text if text else ''}")
    return ", ".join(parts) or "an empty <Response>"


def parse_twiml(body: str) -> StreamTwiml:
    """The Stream of a `<Response><Connect><Stream url=...>` document, else `TwimlError`.

    Strict on purpose: a server that answers `<Say>` or a Stream URL with a query string would
    not work with real Twilio either, so the simulator refuses it with the reason.
    """
    try:
        root = ET.fromstring(body.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"webhook answer is not XML ({exc})", body) from None
    if root.tag != "Response":
        raise TwimlError(f"TwiML root is <{root.tag}>, expected <Response>", body)
    connect = root.find("Connect")
    if connect is None:
        raise TwimlError(f"TwiML has no <Connect>; Twilio would run {_describe(root)}", body)
    stream = connect.find("Stream")
    if stream is None:
        raise TwimlError("TwiML <Connect> has no <Stream>", body)
    url = stream.get("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise TwimlError(f"<Stream url> must be an absolute ws:// or wss:// URL, got {url!r}", body)
    if parts.query:
        raise TwimlError(f"<Stream url> may not carry a query string: {url}", body)
    params: dict[str, str] = {}
    for param in stream.findall("Parameter"):
        name = param.get("name")
        if not name:
            raise TwimlError("<Parameter> without a name", body)
        params[name] = param.get("value", "")
    return StreamTwiml(url=url, parameters=params, name=stream.get("name"))

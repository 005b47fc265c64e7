"""Our public URLs as Twilio sees them: the stream's ws(s) URL and webhook URLs to sign."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def stream_url_from_public(public_url: str, path: str) -> str:
    """`https://host/x` -> `wss://host/x/<path>` (http -> ws), as Twilio must open it."""
    parts = urlsplit(public_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"PUBLIC_URL must start with https:// or http://, got {public_url!r}")
    base_path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, f"{base_path}/{path.lstrip('/')}", "", ""))


def http_base_of(url: str) -> str:
    """`wss://host/x` -> `https://host/x` (ws -> http): a socket's base as a web URL."""
    parts = urlsplit(url.rstrip("/"))
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def public_url_for(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called for `path`, as seen from outside (for signature checks)."""
    parts = urlsplit(public_url.rstrip("/"))
    return urlunsplit(
        (parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{path.lstrip('/')}", query, "")
    )

"""How the fake OpenAI is scripted: the replies a test queues and helpers for brains."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """An assistant text reply."""

    content: str


@dataclass(frozen=True)
class ToolCall:
    """An assistant tool call; `arguments` may be a raw string to send exactly (even invalid)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the wire carries them: a JSON-encoded string."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Failure:
    """Answer this request with an HTTP error in OpenAI's error shape."""

    status: int = 500
    message: str = "The server had an error while processing your request."


ChatReply = Text | ToolCall | Sequence[ToolCall] | Failure | str
Brain = Callable[[dict[str, Any]], ChatReply | Awaitable[ChatReply]]


def last_user_text(request: dict[str, Any]) -> str:
    """Text of the last `role: user` message (for brains that branch on what was said)."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def last_tool_result(request: dict[str, Any]) -> str | None:
    """Content of the trailing `role: tool` message, or None if the request does not end in one."""
    messages = request.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        return _content_text(messages[-1].get("content"))
    return None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""

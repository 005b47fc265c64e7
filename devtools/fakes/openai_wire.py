"""OpenAI's chat wire format as the fake answers it: completions, stream chunks, errors."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from devtools.fakes.openai_script import Text, ToolCall


def error_body(message: str, *, kind: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def split_text(text: str) -> list[str]:
    """Split like a tokenizer roughly would: two words per chunk, spacing kept."""
    words = text.split(" ")
    pieces = [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)]
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)] or [""]


def usage(body: dict[str, Any], completion_chars: int) -> dict[str, Any]:
    """Token counts estimated at four characters a token (the SDK only reads the shape)."""
    prompt = sum(len(json.dumps(m)) for m in body.get("messages", [])) // 4 + 1
    completion = completion_chars // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _reply_chars(reply: Text | list[ToolCall]) -> int:
    if isinstance(reply, Text):
        return len(reply.content)
    return sum(len(c.arguments_json()) for c in reply)


def _call_id(call: ToolCall) -> str:
    return call.call_id or f"call_{uuid.uuid4().hex[:24]}"


def completion(body: dict[str, Any], reply: Text | list[ToolCall]) -> dict[str, Any]:
    """A non-streamed `chat.completion`."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if isinstance(reply, Text):
        message["content"] = reply.content
        finish = "stop"
    else:
        message["tool_calls"] = [
            {
                "id": _call_id(call),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for call in reply
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "gpt-4o-mini"),
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage(body, _reply_chars(reply)),
    }


def stream_events(body: dict[str, Any], reply: Text | list[ToolCall]) -> Iterator[str]:
    """The `data:` payloads of a streamed completion, in order, ending with `[DONE]`.

    Text comes two words a chunk; tool calls come as a head (id, name) and then their
    arguments in 8-character fragments, as the real API splits them.
    """
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "gpt-4o-mini"),
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        out: dict[str, Any] = {**base, "choices": [choice]}
        if include_usage:
            out["usage"] = None
        return json.dumps(out)

    if isinstance(reply, Text):
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in split_text(reply.content):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
    else:
        yield chunk({"role": "assistant", "content": None, "refusal": None})
        for index, call in enumerate(reply):
            head = {
                "index": index,
                "id": _call_id(call),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]})
            args = call.arguments_json()
            for start in range(0, len(args), 8):
                fragment = {"index": index, "function": {"arguments": args[start : start + 8]}}
                yield chunk({"tool_calls": [fragment]})
        yield chunk({}, "tool_calls")
    if include_usage:
        yield json.dumps({**base, "choices": [], "usage": usage(body, _reply_chars(reply))})
    yield "[DONE]"

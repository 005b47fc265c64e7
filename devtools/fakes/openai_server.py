"""Scripted OpenAI API server (chat completions with SSE + tools, audio speech as PCM) for tests."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from devtools.fakes._base import FakeServer, run_forever

SPEECH_SAMPLE_RATE = 24000


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


def _error_body(message: str, *, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# Formants (F1, F2, F3 in Hz) of a few English vowels; cycling through them makes the signal
# vary like syllables, which Silero VAD needs to call it speech.
_VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (660, 1720, 2410),
)


def synthesize_voice(text: str, *, ms_per_char: float = 55.0, max_seconds: float = 12.0) -> bytes:
    """Speech-like 24 kHz int16 PCM whose length follows the text.

    A glottal pulse train (wandering pitch around 150 Hz) shaped by vowel formants that change
    every ~70 ms, with a 3.5 Hz syllable envelope that never reaches silence. Energy gates see
    it as voice throughout, and Silero VAD scores it above 0.7 after its ~0.25 s warm-up with
    dips under 200 ms, even band-limited to telephone bandwidth, so one request reads as one
    utterance. Deterministic per text.
    """
    seconds = min(max(len(text) * ms_per_char / 1000, 0.2), max_seconds)
    n = int(seconds * SPEECH_SAMPLE_RATE)
    t = np.arange(n) / SPEECH_SAMPLE_RATE
    rng = np.random.default_rng(len(text))
    f0 = 150 + 25 * np.sin(2 * np.pi * 0.6 * t) * np.cos(2 * np.pi * 0.23 * t)
    phase = np.cumsum(f0) / SPEECH_SAMPLE_RATE
    pulses = -np.diff(phase % 1.0, prepend=0.0)
    source = np.convolve(pulses, np.exp(-np.arange(48) / 4.0), mode="same")
    source += rng.normal(0, 0.01, n)
    seg = int(SPEECH_SAMPLE_RATE * 0.14)
    hop = seg // 2
    window = np.hanning(seg)
    freqs = np.fft.rfftfreq(seg, 1 / SPEECH_SAMPLE_RATE)
    out = np.zeros(n + seg)
    for k, begin in enumerate(range(0, n, hop)):
        frame = np.zeros(seg)
        chunk = source[begin : begin + seg]
        frame[: len(chunk)] = chunk
        formants = _VOWELS[(k // 2 * 5 + len(text)) % len(_VOWELS)]
        response = sum(
            gain / (1 + ((freqs - f) / bw) ** 2)
            for f, bw, gain in zip(formants, (100, 150, 200), (1.0, 0.5, 0.25), strict=True)
        )
        out[begin : begin + seg] += np.fft.irfft(np.fft.rfft(frame * window) * response, seg)
    out = out[:n] * (0.3 + 0.7 * np.sin(2 * np.pi * 3.5 * t) ** 2)
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / peak * 0.6 * 32767).astype("<i2").tobytes()


class OpenAIFake(FakeServer):
    """OpenAI `/v1/chat/completions` and `/v1/audio/speech`, scripted by a queue or a brain."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-openai-key",
        host: str = "127.0.0.1",
        port: int = 0,
        default_reply: str = "Sure, how can I help you today?",
        token_interval: float = 0.0,
        ms_per_char: float = 55.0,
        max_speech_seconds: float = 12.0,
        speech_chunk_bytes: int = 4800,
        speech_chunk_interval: float = 0.0,
    ) -> None:
        """Configure the fake.

        Args:
            api_key: Expected `Authorization: Bearer <key>`; None accepts any.
            host: Interface to bind (keep 127.0.0.1).
            port: Port to bind; 0 picks a free one.
            default_reply: Text answered when nothing is scripted.
            token_interval: Seconds between streamed chunks (0: as fast as possible).
            ms_per_char: Speech duration per input character.
            max_speech_seconds: Cap on one speech response.
            speech_chunk_bytes: Size of each chunk of the chunked PCM body.
            speech_chunk_interval: Seconds between speech chunks (0: as fast as possible).
        """
        self.api_key = api_key
        self.default_reply = default_reply
        self.token_interval = token_interval
        self.ms_per_char = ms_per_char
        self.max_speech_seconds = max_speech_seconds
        self.speech_chunk_bytes = speech_chunk_bytes
        self.speech_chunk_interval = speech_chunk_interval
        self._chat_queue: deque[ChatReply] = deque()
        self._brain: Brain | None = None
        self._chat_failures: deque[tuple[int, float | None]] = deque()
        self._speech_failures: deque[tuple[int, float | None]] = deque()
        self._chat_delay = 0.0
        self._speech_delay = 0.0
        self._malformed_next = False
        self._hang_next = 0
        # Recorded for assertions.
        self.chat_requests: list[dict[str, Any]] = []
        self.speech_requests: list[dict[str, Any]] = []
        self.unauthorized_requests = 0
        super().__init__(host=host, port=port)

    # ----- scripting -------------------------------------------------------------------------

    def queue_chat(self, *replies: ChatReply) -> None:
        """Queue replies for the next chat requests, one each (a list of ToolCalls = parallel)."""
        self._chat_queue.extend(replies)

    def set_brain(self, brain: Brain | None) -> None:
        """Decide replies from the request body (used when the queue is empty); may be async."""
        self._brain = brain

    @property
    def pending_chat(self) -> int:
        """Queued replies not yet used."""
        return len(self._chat_queue)

    # ----- faults ----------------------------------------------------------------------------

    def fail_next_chat(self, n: int = 1, status: int = 500, *, retry_after: float | None = None):
        """Answer the next `n` chat requests with `status` (the SDK's own retries count too).

        `retry_after` (seconds) adds `retry-after-ms`, which the openai SDK honours; small
        values keep retry tests fast.
        """
        self._chat_failures.extend([(status, retry_after)] * n)

    def fail_next_speech(self, n: int = 1, status: int = 500, *, retry_after: float | None = None):
        """Answer the next `n` speech requests with `status`."""
        self._speech_failures.extend([(status, retry_after)] * n)

    def set_chat_delay(self, seconds: float) -> None:
        """Wait this long before the first byte of every chat response."""
        self._chat_delay = max(0.0, seconds)

    def set_speech_delay(self, seconds: float) -> None:
        """Wait this long before the first byte of every speech response."""
        self._speech_delay = max(0.0, seconds)

    def malformed_tool_args_next(self) -> None:
        """Make the next chat reply a tool call whose `arguments` are not valid JSON."""
        self._malformed_next = True

    def hang_next_chat(self, n: int = 1) -> None:
        """Never answer the next `n` chat requests (until the client gives up or the fake stops)."""
        self._hang_next += n

    # ----- server ----------------------------------------------------------------------------

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_post("/v1/audio/speech", self._handle_speech)
        app.router.add_get("/_fake/stats", self._handle_stats)
        app.router.add_post("/_fake/chat", self._handle_script)

    def stats(self) -> dict[str, Any]:
        """Recorded counters as JSON-able data (also served at `GET /_fake/stats`)."""
        return {
            "chat_requests": len(self.chat_requests),
            "speech_requests": len(self.speech_requests),
            "unauthorized_requests": self.unauthorized_requests,
            "pending_chat": self.pending_chat,
        }

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_script(self, request: web.Request) -> web.Response:
        """Queue replies from another process.

        Body: `{"replies": [{"text": "..."} | {"tool": "name", "arguments": {...}}]}`.
        """
        body = await request.json()
        for item in body.get("replies", []):
            if "tool" in item:
                self.queue_chat(ToolCall(item["tool"], item.get("arguments", {})))
            else:
                self.queue_chat(Text(str(item.get("text", ""))))
        return web.json_response({"pending_chat": self.pending_chat})

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization", "") == f"Bearer {self.api_key}":
            return None
        self.unauthorized_requests += 1
        return web.json_response(
            _error_body(
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                kind="invalid_request_error",
                code="invalid_api_key",
            ),
            status=401,
        )

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response(
                _error_body(
                    "We could not parse the JSON body of your request.",
                    kind="invalid_request_error",
                ),
                status=400,
            )
        return body

    @staticmethod
    def _failure(status: int, message: str, retry_after: float | None = None) -> web.Response:
        headers = {}
        if retry_after is not None:
            headers["retry-after-ms"] = str(int(retry_after * 1000))
        kind = "server_error" if status >= 500 else "invalid_request_error"
        if status == 429:
            kind = "rate_limit_exceeded"
        return web.json_response(_error_body(message, kind=kind), status=status, headers=headers)

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        self.chat_requests.append(body)
        if self._chat_failures:
            status, retry_after = self._chat_failures.popleft()
            return self._failure(status, "Injected failure (chat).", retry_after)
        if self._hang_next:
            self._hang_next -= 1
            await self._park_until_stopped(request)
            return web.Response(status=503)
        if self._chat_delay:
            await asyncio.sleep(self._chat_delay)
        reply = await self._next_reply(body)
        if isinstance(reply, Failure):
            return self._failure(reply.status, reply.message)
        if self._malformed_next:
            self._malformed_next = False
            reply = self._malformed(reply, body)
        if body.get("stream"):
            return await self._stream_chat(request, body, reply)
        return web.json_response(self._completion(body, reply))

    async def _next_reply(self, body: dict[str, Any]) -> Text | list[ToolCall] | Failure:
        reply: ChatReply
        if self._chat_queue:
            reply = self._chat_queue.popleft()
        elif self._brain is not None:
            result = self._brain(body)
            reply = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        else:
            reply = Text(self.default_reply)
        if isinstance(reply, str):
            return Text(reply)
        if isinstance(reply, ToolCall):
            return [reply]
        if isinstance(reply, Text | Failure):
            return reply
        return list(reply)

    @staticmethod
    def _malformed(reply: Text | list[ToolCall], body: dict[str, Any]) -> Text | list[ToolCall]:
        broken = '{"date": "2026-12-01", "service": '
        if isinstance(reply, list):
            return [ToolCall(c.name, broken, c.call_id) for c in reply]
        tools = body.get("tools") or []
        if tools:
            return [ToolCall(tools[0].get("function", {}).get("name", "unknown"), broken)]
        return reply

    @staticmethod
    def _usage(body: dict[str, Any], completion_chars: int) -> dict[str, Any]:
        prompt = sum(len(json.dumps(m)) for m in body.get("messages", [])) // 4 + 1
        completion = completion_chars // 4 + 1
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def _completion(self, body: dict[str, Any], reply: Text | list[ToolCall]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if isinstance(reply, Text):
            message["content"] = reply.content
            finish, chars = "stop", len(reply.content)
        else:
            message["tool_calls"] = [
                {
                    "id": call.call_id or f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for call in reply
            ]
            finish, chars = "tool_calls", sum(len(c.arguments_json()) for c in reply)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": self._usage(body, chars),
        }

    async def _stream_chat(
        self, request: web.Request, body: dict[str, Any], reply: Text | list[ToolCall]
    ) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
            "system_fingerprint": "fp_fake",
        }

        async def send(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await response.write(f"data: {data}\n\n".encode())
            if self.token_interval:
                await asyncio.sleep(self.token_interval)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out = {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                out["usage"] = None
            return out

        if isinstance(reply, Text):
            await send(chunk({"role": "assistant", "content": "", "refusal": None}))
            for piece in _split_text(reply.content):
                await send(chunk({"content": piece}))
            await send(chunk({}, "stop"))
            chars = len(reply.content)
        else:
            await send(chunk({"role": "assistant", "content": None, "refusal": None}))
            for index, call in enumerate(reply):
                head = {
                    "index": index,
                    "id": call.call_id or f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
                await send(chunk({"tool_calls": [head]}))
                args = call.arguments_json()
                for start in range(0, len(args), 8):
                    fragment = {"index": index, "function": {"arguments": args[start : start + 8]}}
                    await send(chunk({"tool_calls": [fragment]}))
            await send(chunk({}, "tool_calls"))
            chars = sum(len(c.arguments_json()) for c in reply)
        if include_usage:
            await send({**base, "choices": [], "usage": self._usage(body, chars)})
        await send("[DONE]")
        await response.write_eof()
        return response

    async def _handle_speech(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        self.speech_requests.append(body)
        if self._speech_failures:
            status, retry_after = self._speech_failures.popleft()
            return self._failure(status, "Injected failure (speech).", retry_after)
        text = body.get("input")
        if not isinstance(text, str) or not text:
            return self._failure(400, "'input' is a required property")
        fmt = body.get("response_format", "mp3")
        if fmt not in ("pcm", "wav"):
            return self._failure(400, f"The fake only produces pcm and wav, not {fmt!r}.")
        if self._speech_delay:
            await asyncio.sleep(self._speech_delay)
        speed = body.get("speed") or 1.0
        pcm = synthesize_voice(
            text,
            ms_per_char=self.ms_per_char / float(speed),
            max_seconds=self.max_speech_seconds,
        )
        response = web.StreamResponse(
            headers={"Content-Type": "audio/pcm" if fmt == "pcm" else "audio/wav"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        if fmt == "wav":
            await response.write(_wav_header(len(pcm)))
        for start in range(0, len(pcm), self.speech_chunk_bytes):
            await response.write(pcm[start : start + self.speech_chunk_bytes])
            if self.speech_chunk_interval:
                await asyncio.sleep(self.speech_chunk_interval)
        await response.write_eof()
        return response


def _split_text(text: str) -> list[str]:
    """Split like a tokenizer roughly would: two words per chunk, spacing kept."""
    words = text.split(" ")
    pieces = [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)]
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)] or [""]


def _wav_header(data_len: int) -> bytes:
    rate, channels, width = SPEECH_SAMPLE_RATE, 1, 2
    return (
        b"RIFF"
        + (36 + data_len).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + channels.to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (rate * channels * width).to_bytes(4, "little")
        + (channels * width).to_bytes(2, "little")
        + (width * 8).to_bytes(2, "little")
        + b"data"
        + data_len.to_bytes(4, "little")
    )


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: `python -m tests.fakes.openai_server --port 18002`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18002)
    parser.add_argument("--api-key", default="test-openai-key")
    parser.add_argument("--reply", default="Sure, how can I help you today?")
    parser.add_argument("--token-interval", type=float, default=0.0)
    args = parser.parse_args(argv)
    run_forever(
        OpenAIFake(
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            default_reply=args.reply,
            token_interval=args.token_interval,
        )
    )


if __name__ == "__main__":
    main()

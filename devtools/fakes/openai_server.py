"""Scripted OpenAI API server (chat completions with SSE + tools, audio speech as PCM) for tests."""

from __future__ import annotations

import argparse
import asyncio
import inspect
from collections import deque
from typing import Any

from aiohttp import web

from devtools.fakes._base import FakeServer, run_forever
from devtools.fakes.openai_script import (
    Brain,
    ChatReply,
    Failure,
    Text,
    ToolCall,
    last_tool_result,
    last_user_text,
)
from devtools.fakes.openai_voice import SPEECH_SAMPLE_RATE, synthesize_voice, wav_header
from devtools.fakes.openai_wire import completion, error_body, stream_events

# Tests script the fake with these, imported from here next to the fake itself.
__all__ = [
    "SPEECH_SAMPLE_RATE",
    "ChatReply",
    "Failure",
    "OpenAIFake",
    "Text",
    "ToolCall",
    "last_tool_result",
    "last_user_text",
    "main",
    "synthesize_voice",
]


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
        chat_delay: float = 0.0,
        speech_delay: float = 0.0,
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
            chat_delay: Seconds before the first byte of every chat response (the LLM's
                time to first token; `set_chat_delay` changes it later).
            speech_delay: Seconds before the first byte of every speech response (the TTS's
                time to first audio; `set_speech_delay` changes it later).
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
        self._chat_delay = max(0.0, chat_delay)
        self._speech_delay = max(0.0, speech_delay)
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
            error_body(
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
                error_body(
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
        return web.json_response(error_body(message, kind=kind), status=status, headers=headers)

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
        return web.json_response(completion(body, reply))

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

    async def _stream_chat(
        self, request: web.Request, body: dict[str, Any], reply: Text | list[ToolCall]
    ) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        for data in stream_events(body, reply):
            await response.write(f"data: {data}\n\n".encode())
            if self.token_interval:
                await asyncio.sleep(self.token_interval)
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
            await response.write(wav_header(len(pcm)))
        for start in range(0, len(pcm), self.speech_chunk_bytes):
            await response.write(pcm[start : start + self.speech_chunk_bytes])
            if self.speech_chunk_interval:
                await asyncio.sleep(self.speech_chunk_interval)
        await response.write_eof()
        return response


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: `python -m devtools.fakes.openai_server --port 18002`."""
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

"""Protections every server process has, however it was started."""

import gc
import json
from pathlib import Path

import pytest
from starlette.types import Message

import server
from zylin.app.limits import MAX_WS_MESSAGE_BYTES, WebSocketMessageCap
from zylin.app.twilio_auth import signatures_required
from zylin.config import Settings
from zylin.engines import Engines


def settings(**values: str | bool | int) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "required"),
    [
        ({}, False),  # a laptop demo: nothing paid for, nothing to check with
        ({"twilio_auth_token": "t"}, True),
        ({"openai_api_key": "k"}, True),  # paid LLM and TTS, local STT: was accepted unsigned
        ({"deepgram_api_key": "k"}, True),  # paid STT, local LLM and TTS
        ({"llm_provider": "openai", "openai_api_key": "k", "tts_provider": "demo"}, True),
        ({"openai_api_key": "k", "twilio_validate_signatures": False}, False),  # explicit opt-out
    ],
)
def test_unsigned_webhooks_only_when_nothing_paid_is_configured(
    monkeypatch: pytest.MonkeyPatch, values: dict, required: bool
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    chosen = settings(**values)
    assert signatures_required(chosen, Engines.choose(chosen)) is required


async def test_an_oversized_websocket_message_is_dropped_before_the_route() -> None:
    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "bytes": b"\0" * (MAX_WS_MESSAGE_BYTES + 1)},
        {"type": "websocket.receive", "text": "x" * (MAX_WS_MESSAGE_BYTES + 1)},
        {"type": "websocket.receive", "text": json.dumps({"event": "media"})},
        {"type": "websocket.receive", "text": "é" * (MAX_WS_MESSAGE_BYTES // 2 + 1)},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    seen: list[Message] = []

    async def route(scope, receive, send) -> None:
        while (message := await receive())["type"] != "websocket.disconnect":
            seen.append(message)

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(_message: Message) -> None:
        raise AssertionError("nothing is sent")

    await WebSocketMessageCap(route)({"type": "websocket", "path": "/x"}, receive, send)
    assert seen == [{"type": "websocket.connect"}, incoming_media()]


def incoming_media() -> Message:
    return {"type": "websocket.receive", "text": json.dumps({"event": "media"})}


def test_every_worker_gets_the_message_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setattr(server, "configure_logging", lambda _level: None)  # keep pytest's
    options = server.uvicorn_options(settings(workers=3))
    assert options["ws_max_size"] == MAX_WS_MESSAGE_BYTES  # what uvicorn buffers, per worker
    assert options["factory"] and options["app"] == "server:app_from_env"
    assert options["workers"] == 3
    app = server.app_from_env()  # what `uvicorn --factory` builds in each worker
    assert WebSocketMessageCap in [m.cls for m in app.user_middleware]


async def test_a_worker_freezes_its_start_up_heap_once_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A full garbage collection otherwise walks every start-up object with the worker
    stopped; a test's app (no `freeze_heap`) leaves the test process's collector alone."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}")
    monkeypatch.setattr(server, "configure_logging", lambda _level: None)
    gc.unfreeze()
    try:
        test_app = server.create_app(settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db"))
        async with test_app.router.lifespan_context(test_app):
            assert gc.get_freeze_count() == 0
        worker_app = server.app_from_env()
        assert gc.get_freeze_count() == 0  # not before its start-up work is done
        async with worker_app.router.lifespan_context(worker_app):
            assert gc.get_freeze_count() > 100_000  # modules, the app, the models
    finally:
        gc.unfreeze()

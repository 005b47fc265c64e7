"""Each call's OpenAI services share the process's one HTTP client instead of making their own."""

from datetime import UTC, datetime

import pytest
from openai import DefaultAsyncHttpxClient

from zylin.business import load_profile
from zylin.call.services import make_services
from zylin.config import ROOT, Settings
from zylin.engines import Engines


async def test_openai_services_use_the_shared_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(_env_file=None, openai_api_key="k", deepgram_api_key="k")  # type: ignore[call-arg]
    profile = load_profile(ROOT / "business" / "example_profile.yaml")
    http = DefaultAsyncHttpxClient()
    try:
        services = [
            make_services(
                settings,
                Engines.choose(settings),
                profile,
                lambda: datetime.now(UTC),
                "x",
                http=http,
            )
            for _ in range(2)
        ]
        clients = [c for s in services for c in (s.llm._client, s.tts._client)]  # type: ignore[attr-defined]
        assert all(client._client is http for client in clients)
    finally:
        await http.aclose()

"""Settings: the documented names, demo-mode rules, and a clear failure on a broken profile."""

from pathlib import Path

import pytest

from bot import build_worker
from zylin.business import ProfileError
from zylin.config import Settings
from zylin.engines import Engines
from zylin.state import open_app_state


def make(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("USE_MOCK_STREAMING", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _engines(s: Settings) -> tuple[str, str, str]:
    chosen = Engines.choose(s)
    return (chosen.stt, chosen.llm, chosen.tts)


def test_no_keys_means_demo_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make(monkeypatch)
    assert _engines(s) == ("demo", "demo", "demo")
    assert Engines.choose(s).any_demo
    assert s.port == 8000 and s.log_level == "INFO"
    assert s.database_url.startswith("sqlite+aiosqlite:///") and "/data/" in s.database_url


def test_keys_select_cloud_engines_and_demo_mode_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make(monkeypatch, DEEPGRAM_API_KEY="dg", OPENAI_API_KEY="oa")
    assert _engines(s) == ("deepgram", "openai", "openai")
    assert not Engines.choose(s).any_demo
    assert make(monkeypatch, DEEPGRAM_API_KEY="dg", OPENAI_API_KEY="oa", DEMO_MODE="true").demo_mode
    legacy = make(monkeypatch, DEEPGRAM_API_KEY="dg", OPENAI_API_KEY="oa", USE_MOCK_STREAMING="1")
    assert Engines.choose(legacy).llm == "demo" and Engines.choose(legacy).stt == "demo"


def test_providers_can_be_chosen_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make(
        monkeypatch,
        OPENAI_API_KEY="ollama",
        OPENAI_BASE_URL="http://127.0.0.1:11434/v1",
        STT_PROVIDER="demo",
        TTS_PROVIDER="demo",
        LLM_PROVIDER="openai",
    )
    assert _engines(s) == ("demo", "openai", "demo")
    with pytest.raises(ValueError, match="stt_provider"):
        make(monkeypatch, STT_PROVIDER="whisper")


def test_empty_values_mean_unset_and_urls_get_async_drivers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = make(monkeypatch, DATABASE_URL="", STT_PROVIDER="", OPENAI_API_KEY="")
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    pg = make(monkeypatch, DATABASE_URL="postgresql://zylin@db/zylin")
    assert pg.database_url == "postgresql+asyncpg://zylin@db/zylin"
    assert make(monkeypatch, DATABASE_URL="postgres://a@b/c").database_url.startswith(
        "postgresql+asyncpg://"
    )


def test_secrets_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make(monkeypatch, TWILIO_AUTH_TOKEN="very-secret-token", OPENAI_API_KEY="sk-secret")
    assert "very-secret-token" not in repr(s) and "sk-secret" not in str(s)
    assert s.twilio_token == "very-secret-token"


async def test_broken_profile_fails_start_up_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "name: X\ntimezone: Nowhere/Land\nowner_phone: '+15551230000'\n"
        "hours: {mon: closed}\nservices: [{name: Cut, minutes: 30}]\n",
        encoding="utf-8",
    )
    s = make(
        monkeypatch,
        BUSINESS_PROFILE=str(profile),
        DATABASE_URL=f"sqlite:///{tmp_path / 'z.db'}",
    )
    with pytest.raises(ProfileError, match="timezone"):
        async with open_app_state(s, build_worker=build_worker):
            pass


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STT_PROVIDER": "deepgram"}, "DEEPGRAM_API_KEY"),
        ({"LLM_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"TTS_PROVIDER": "openai", "DEEPGRAM_API_KEY": "k"}, "OPENAI_API_KEY"),
    ],
)
async def test_a_cloud_engine_chosen_without_its_key_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    """Else every call (and every legacy-path recording) would fail with an empty key."""
    s = make(monkeypatch, **env)
    with pytest.raises(ValueError, match=named):
        async with open_app_state(s, build_worker=build_worker):
            pass


@pytest.mark.parametrize("chunk_ms", [30, 50, 110])
def test_an_audio_chunk_that_is_not_whole_twilio_messages_is_refused(chunk_ms: int) -> None:
    with pytest.raises(ValueError, match="multiple of 20"):
        Settings(_env_file=None, audio_in_chunk_ms=chunk_ms)
    assert Settings(_env_file=None, audio_in_chunk_ms=chunk_ms + 10).audio_in_chunk_ms % 20 == 0

"""Zylin's settings: the one place that reads the environment (and `.env`)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout: data/, business/ and prompts/ live beside src/.
ROOT = Path(__file__).resolve().parents[2]


class SttProvider(StrEnum):
    """Speech-to-text engines a call can use."""

    DEEPGRAM = "deepgram"
    DEMO = "demo"


class LlmProvider(StrEnum):
    """Language-model engines a call can use."""

    OPENAI = "openai"
    DEMO = "demo"


class TtsProvider(StrEnum):
    """Text-to-speech engines a call can use."""

    OPENAI = "openai"
    DEMO = "demo"


class Settings(BaseSettings):
    """Every setting Zylin reads, with the names the README and `.env.example` document.

    Secrets are `SecretStr` so they never print in logs or reprs.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    # Speech-to-text (Deepgram live).
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str | None = None
    deepgram_model: str = "nova-3-general"
    # Silence before Deepgram's own end-of-speech final (`speech_final`). Its default, 10 ms,
    # marks every breath; a final then ends the turn at the VAD's stop (call/deepgram_stt.py).
    deepgram_endpointing_ms: int = Field(default=100, ge=10, le=5000)

    # LLM and TTS (OpenAI or any OpenAI-compatible server).
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4.1-mini"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    llm_timeout_secs: float = 8.0

    # Engine choice; empty means "cloud when its key is set, else demo".
    demo_mode: bool = Field(
        default=False, validation_alias=AliasChoices("DEMO_MODE", "USE_MOCK_STREAMING")
    )
    stt_provider: SttProvider | None = None
    llm_provider: LlmProvider | None = None
    tts_provider: TtsProvider | None = None

    # Twilio.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str | None = None
    twilio_validate_signatures: bool = True

    # Server.
    public_url: str | None = None
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "INFO"
    stream_token_ttl_secs: int = 60
    stream_token_secret: SecretStr | None = None
    # Streamed calls at once on this box, across its worker processes; over it, the legacy path.
    max_concurrent_calls: int = 20
    # Server processes `./zylin serve` runs on one port; empty means one per CPU core.
    workers: int | None = Field(default=None, ge=1)
    # On SIGTERM: how long calls in progress may go on before Zylin ends them politely.
    shutdown_grace_secs: float = Field(default=30.0, ge=0)
    # Shared state for several workers or servers (the concurrent-call count); else the database.
    redis_url: str | None = None

    # Storage.
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'data' / 'zylin.db'}"
    recordings_dir: Path = ROOT / "data" / "recordings"  # WAVs when the profile records calls

    # Business profile and overrides.
    business_profile: Path = ROOT / "business" / "example_profile.yaml"
    business_name: str | None = None
    owner_phone: str | None = None

    # Call limits and turn taking.
    max_call_secs: float = 15 * 60
    silence_prompt_secs: float = 10.0
    turn_latency_target_ms: int = 3000
    vad_stop_secs: float = 0.2
    turn_pause_secs: float = 0.0
    smart_turn: bool = False
    # Start the reply on Deepgram's end-of-speech final, before the VAD's stop; held until the
    # turn ends, withdrawn if the caller goes on (call/turn_stop.py).
    speculative_reply: bool = True
    # Zylin's audio queued ahead at Twilio, so a busy moment is not a gap the caller hears.
    audio_send_ahead_ms: int = Field(default=300, ge=0, le=2000)
    # The caller's audio crosses the pipeline in chunks this long (Twilio sends 20 ms): longer
    # chunks cost a listening call less CPU, shorter ones hear the caller stop sooner.
    audio_in_chunk_ms: int = Field(default=100, ge=20, le=160)

    # Owner's API.
    admin_token: SecretStr | None = None
    metrics_public: bool = True  # false = /metrics needs Bearer ADMIN_TOKEN too

    # Unit prices for the estimated cost of each call, in US dollars (list prices, Dec 2026).
    # Twilio: an inbound local minute ($0.0085) plus Media Streams ($0.004).
    price_twilio_per_min: float = Field(default=0.0125, ge=0)
    # Deepgram Nova-3 streaming, pay as you go, per minute of audio sent.
    price_stt_per_min: float = Field(default=0.0077, ge=0)
    # OpenAI gpt-4.1-mini, per million tokens in (prompt, tools, history) and out.
    price_llm_input_per_mtok: float = Field(default=0.40, ge=0)
    price_llm_output_per_mtok: float = Field(default=1.60, ge=0)
    # OpenAI TTS, per million characters spoken.
    price_tts_per_mchar: float = Field(default=15.0, ge=0)
    # The cost line the home page draws: dollars per 2-minute call.
    cost_target_per_2min: float = Field(default=0.10, ge=0)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the URLs people paste (postgres://, sqlite:///) and pick the async driver."""
        for prefix, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(prefix):
                return driver + value[len(prefix) :]
        return value

    @field_validator("audio_in_chunk_ms")
    @classmethod
    def _whole_messages(cls, value: int) -> int:
        """Twilio sends 20 ms a message, so another length would silently round up."""
        if value % 20:
            raise ValueError("AUDIO_IN_CHUNK_MS must be a multiple of 20 (Twilio's message)")
        return value

    @property
    def twilio_token(self) -> str | None:
        """The Twilio auth token in clear, for the clients that need it."""
        return self.twilio_auth_token.get_secret_value() if self.twilio_auth_token else None

    def token_secret(self) -> bytes:
        """The HMAC key for stream tokens, shared by every worker process of one deployment.

        `STREAM_TOKEN_SECRET`, else the Twilio auth token, else a random key kept in
        `data/stream_token.key` (created once, so all workers on this machine agree).
        """
        for secret in (self.stream_token_secret, self.twilio_auth_token):
            if secret and secret.get_secret_value():
                return secret.get_secret_value().encode()
        return shared_key(ROOT / "data" / "stream_token.key")

    def worker_count(self) -> int:
        """`WORKERS`, else one server process per CPU core."""
        return self.workers or default_worker_count()


def default_worker_count() -> int:
    """How many server processes `./zylin serve` runs when `WORKERS` is unset: one per core."""
    return os.cpu_count() or 1


def secret(value: SecretStr | None) -> str:
    """A secret setting in clear, for the SDK client that needs it ("" when unset)."""
    return value.get_secret_value() if value else ""


def shared_key(key_file: Path) -> bytes:
    """A random key made once per machine; every process that asks reads the same one.

    Written to a private temporary file and linked into place, so a worker starting at the
    same moment never reads a file another one has created but not yet filled.
    """
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".key-")
        try:
            os.write(fd, secrets.token_bytes(32))
            os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process was first: use its key
                os.link(temporary, key_file)
        finally:
            os.unlink(temporary)
    return key_file.read_bytes()

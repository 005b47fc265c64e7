"""What the server holds for its whole life: settings, profile, prompts, database, Twilio client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from loguru import logger
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from pipecat.utils.http import connection_limits

from zylin.business import BusinessProfile, load_profile
from zylin.config import ROOT, LlmProvider, Settings, SttProvider, TtsProvider
from zylin.engines import Engines
from zylin.local.language_model import LanguageModelFiles, write_language_model
from zylin.metrics import ZylinMetrics
from zylin.prompts import Prompts, load_prompts
from zylin.storage.call_slots import CallSlots, DatabaseCallSlots, RedisCallSlots
from zylin.storage.db import create_engine, migrate, session_factory
from zylin.storage.repository import Repository
from zylin.telephony import SignatureChecker, StreamTokens, TwilioRest


def utc_now() -> datetime:
    """The real clock (tests inject another)."""
    return datetime.now(UTC)


class LiveCall(Protocol):
    """A streamed call in progress in this process, as the server's shutdown sees it."""

    async def end_for_shutdown(self) -> None:
        """Say goodbye and end the call once it was heard (the server is going away)."""
        ...


@dataclass
class AppState:
    """Long-lived dependencies, created once in the lifespan and handed to routes and calls."""

    settings: Settings
    engines: Engines
    # Builds one call's pipeline (`bot.build_worker`), handed in by `server.py`.
    build_worker: Callable[..., Any]
    profile: BusinessProfile
    prompts: Prompts
    repository: Repository
    twilio: TwilioRest
    tokens: StreamTokens
    signatures: SignatureChecker | None
    # The box's concurrent-call slots, shared by its worker processes (database or Redis).
    slots: CallSlots
    now: Callable[[], datetime] = utc_now
    # Streamed calls in progress in this process, by CallSid.
    active_calls: dict[str, LiveCall] = field(default_factory=dict)
    # SIGTERM: no new calls; those in progress finish (see `zylin.app.shutdown`).
    draining: bool = False
    metrics: ZylinMetrics = field(default_factory=ZylinMetrics)
    # The OpenAI client for after-call summaries (None when the LLM is the demo brain).
    llm_client: AsyncOpenAI | None = None
    # The HTTP client every call's OpenAI services share (None without OpenAI).
    openai_http: DefaultAsyncHttpxClient | None = None
    recordings_dir: Path = ROOT / "data" / "recordings"
    # The business language model for the demo speech recognizer (None with Deepgram).
    demo_lm: LanguageModelFiles | None = None
    _no_calls: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        self._no_calls.set()

    def call_started(self, call_sid: str, call: LiveCall) -> None:
        """A streamed call runs in this process."""
        self.active_calls[call_sid] = call
        self._no_calls.clear()

    def call_ended(self, call_sid: str) -> None:
        """A streamed call of this process ended."""
        self.active_calls.pop(call_sid, None)
        if not self.active_calls:
            self._no_calls.set()

    async def until_no_calls(self, within_secs: float) -> bool:
        """Wait until no call runs in this process; False if some still do after `within_secs`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._no_calls.wait(), within_secs)
        return not self.active_calls


def load_business(settings: Settings) -> BusinessProfile:
    """The profile with `BUSINESS_NAME` / `OWNER_PHONE` applied; fails naming the bad field."""
    return load_profile(
        settings.business_profile,
        name_override=settings.business_name,
        owner_phone_override=settings.owner_phone,
    )


@asynccontextmanager
async def open_app_state(
    settings: Settings,
    *,
    build_worker: Callable[..., Any],
    now: Callable[[], datetime] = utc_now,
) -> AsyncIterator[AppState]:
    """Validate the profile and prompts, migrate the database, open clients; close them after."""
    engines = Engines.choose(settings)
    if missing := engines.missing_keys(settings):
        raise ValueError(f"Set {' and '.join(missing)}, or choose the demo engine")
    profile = load_business(settings)
    prompts = load_prompts()
    prompts.filled_lines(profile)  # fail at start-up, not mid-call, on a bad line
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    auth_token = settings.twilio_token
    twilio = TwilioRest(settings.twilio_account_sid, auth_token, settings.twilio_api_base_url)
    uses_openai = engines.llm == LlmProvider.OPENAI or engines.tts == TtsProvider.OPENAI
    # One HTTP client for every call's OpenAI requests: Pipecat's services make one each per
    # call otherwise (a TLS context, ~10 ms of CPU, and a pool that is never closed).
    openai_http = (
        DefaultAsyncHttpxClient(
            limits=connection_limits(
                max_keepalive_connections=100, max_connections=1000, keepalive_expiry=None
            )
        )
        if uses_openai
        else None
    )
    llm_client = (
        AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            max_retries=1,
            http_client=openai_http,
        )
        if engines.llm == LlmProvider.OPENAI and settings.openai_api_key
        else None
    )
    demo_lm = None
    if engines.stt == SttProvider.DEMO:
        demo_lm = await asyncio.to_thread(
            write_language_model, profile, ROOT / "data" / "demo_lm", now=now()
        )
    state = AppState(
        settings=settings,
        engines=engines,
        build_worker=build_worker,
        profile=profile,
        prompts=prompts,
        repository=Repository(session_factory(engine), clock=now),
        twilio=twilio,
        tokens=StreamTokens(settings.token_secret(), settings.stream_token_ttl_secs),
        signatures=SignatureChecker(auth_token) if auth_token else None,
        slots=(
            RedisCallSlots(settings.redis_url)
            if settings.redis_url
            else DatabaseCallSlots(session_factory(engine), clock=now)
        ),
        now=now,
        llm_client=llm_client,
        openai_http=openai_http,
        recordings_dir=settings.recordings_dir,
        demo_lm=demo_lm,
    )
    _announce(settings, engines)
    if engines.any_demo and profile.languages != ["en"]:
        logger.warning(
            f"The profile's languages are {', '.join(profile.languages)}, but the demo engines "
            "speak and understand English only: callers get English until cloud engines are set."
        )
    try:
        yield state
    finally:
        await state.slots.aclose()
        await twilio.aclose()
        if openai_http is not None:
            await openai_http.aclose()
        await engine.dispose()


def _announce(settings: Settings, engines: Engines) -> None:
    if engines.any_demo:
        logger.warning(
            f"DEMO MODE: calls run on local engines ({engines.describe()}). Set "
            "DEEPGRAM_API_KEY and OPENAI_API_KEY (or STT_PROVIDER/LLM_PROVIDER/TTS_PROVIDER) "
            "for cloud engines."
        )
    else:
        logger.info(f"Engines: {engines.describe()}")
    if not settings.twilio_auth_token:
        logger.warning(
            "TWILIO_AUTH_TOKEN is not set: webhook signatures cannot be checked, and transfers, "
            "SMS and REST hang-up are off."
        )
    elif not settings.twilio_validate_signatures:
        logger.warning(
            "TWILIO_VALIDATE_SIGNATURES=false: anyone can start calls. Development only!"
        )

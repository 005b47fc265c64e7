"""Runs scenarios one after another, each on its own scratch database, and checks each."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openai import DefaultAsyncHttpxClient
from pipecat.services.llm_service import LLMService

from eval_runner.checks import failures
from eval_runner.scenario import Scenario, ScenarioError
from eval_runner.scratch import ScratchDatabases, fake_twilio, open_world, pinned_clock
from eval_runner.text_call import TextCall, Transcript
from zylin.business import BusinessProfile
from zylin.call.opening import greeting_for
from zylin.call.services import make_llm
from zylin.config import LlmProvider, Settings
from zylin.engines import Engines
from zylin.prompts import Prompts, render_system_prompt
from zylin.telephony import TwilioRest

# A booking search window wide enough for any scenario's calendar.
EVERYTHING = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Brain:
    """The LLM scenarios talk to, chosen as the server chooses it and built as a call builds it."""

    settings: Settings
    engine: LlmProvider

    @classmethod
    def configured(cls, settings: Settings) -> Brain:
        """OpenAI when its key is set (or `LLM_PROVIDER=openai`), else the demo brain."""
        engine = Engines.choose(settings).llm
        if engine == LlmProvider.OPENAI and not settings.openai_api_key:
            raise ValueError("LLM_PROVIDER=openai needs OPENAI_API_KEY")
        return cls(settings, engine)

    def describe(self) -> str:
        """'openai gpt-4.1-mini' or 'demo brain', for the report."""
        if self.engine == LlmProvider.OPENAI:
            where = f" at {self.settings.openai_base_url}" if self.settings.openai_base_url else ""
            return f"openai {self.settings.openai_model}{where}"
        return "demo brain"

    def build(
        self,
        profile: BusinessProfile,
        now: Callable[[], datetime],
        system_prompt: str,
        http: DefaultAsyncHttpxClient | None,
    ) -> LLMService:
        """A fresh LLM service for one call (never shared between calls)."""
        return make_llm(self.settings, self.engine, profile, now, system_prompt, http)

    @asynccontextmanager
    async def http_client(self) -> AsyncIterator[DefaultAsyncHttpxClient | None]:
        """One HTTP client for the run's OpenAI requests, shared as the server shares one."""
        if self.engine != LlmProvider.OPENAI:
            yield None
            return
        client = DefaultAsyncHttpxClient()
        try:
            yield client
        finally:
            await client.aclose()


@dataclass(frozen=True)
class Result:
    """One scenario's verdict."""

    name: str
    path: Path
    reasons: list[str]
    transcript: Transcript | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.reasons


def invalid(path: Path, error: ScenarioError) -> Result:
    """The row for a file that could not be loaded."""
    return Result(name=path.stem, path=path, reasons=[f"invalid scenario: {error}"])


async def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    brain: Brain,
    profile: BusinessProfile,
    prompts: Prompts,
    workdir: Path,
    turn_timeout_secs: float,
    on_result: Callable[[Result], None] = lambda _r: None,
) -> list[Result]:
    """Run each scenario on a fresh copy of one migrated database; `on_result` sees each verdict."""
    databases = ScratchDatabases(workdir)
    await databases.prepare()
    results = []
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    async with fake_twilio() as twilio, brain.http_client() as http:
        for scenario in scenarios:
            clock = time.perf_counter()
            try:
                transcript, reasons = await _run_one(
                    scenario,
                    brain=brain,
                    profile=profile,
                    prompts=prompts,
                    db_url=databases.fresh(),
                    twilio=twilio,
                    http=http,
                    now=pinned_clock(scenario, profile, started),
                    turn_timeout_secs=turn_timeout_secs,
                )
            except ScenarioError as exc:
                transcript, reasons = None, [f"invalid scenario: {scenario.path}: {exc}"]
            result = Result(
                scenario.name, scenario.path, reasons, transcript, time.perf_counter() - clock
            )
            on_result(result)
            results.append(result)
    return results


async def _run_one(
    scenario: Scenario,
    *,
    brain: Brain,
    profile: BusinessProfile,
    prompts: Prompts,
    db_url: str,
    twilio: TwilioRest,
    http: DefaultAsyncHttpxClient | None,
    now: datetime,
    turn_timeout_secs: float,
) -> tuple[Transcript, list[str]]:
    def clock() -> datetime:
        return now

    world = await open_world(
        scenario,
        db_url=db_url,
        settings=brain.settings,
        profile=profile,
        prompts=prompts,
        twilio=twilio,
        now=clock,
    )
    try:
        system_prompt = render_system_prompt(
            prompts, profile, now=now, caller_known=bool(scenario.caller_phone)
        )
        llm = brain.build(profile, clock, system_prompt, http)
        call = TextCall(
            world.ctx,
            llm,
            greeting=greeting_for(prompts, profile, now),
            turn_timeout_secs=turn_timeout_secs,
        )
        async with call:
            for line in scenario.turns:
                if not await call.say(line):
                    break
        booked = await world.repository.appointments_between(*EVERYTHING)
        return call.transcript, failures(scenario, call.transcript, booked, profile)
    finally:
        await world.close()

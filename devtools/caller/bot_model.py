"""A language model of what a demo-mode Zylin can say, so the caller can transcribe its side.

pocketsphinx's general model reads eSpeak on a phone line at about one word in eight. In
demo mode Zylin only says the demo brain's phrases and the fixed lines of `prompts/`, filled
from the business profile, so a model of exactly those reads it far better. A cloud LLM says
anything, so a server that runs one keeps the general model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from zylin.config import Settings
from zylin.local.demo_brain import DemoBrain, load_phrases
from zylin.local.language_model import LanguageModelFiles, write_sentence_model
from zylin.prompts import load_prompts
from zylin.state import load_business


def demo_lines(settings: Settings, now: datetime) -> tuple[str, list[str]]:
    """The business name and every line its demo-mode Zylin can say."""
    profile = load_business(settings)
    prompts = load_prompts()
    brain = DemoBrain(profile, lambda: now, load_phrases())
    lines = brain.sample_lines(profile.local_now(now).date())
    lines += [*prompts.filled_lines(profile).values(), prompts.greeting(profile)]
    return profile.name, lines


async def demo_bot_model(
    server: str,
    out_dir: Path,
    *,
    settings_factory: Callable[[], Settings] = Settings,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LanguageModelFiles | None:
    """A model of Zylin's lines when `server` runs the demo brain for the profile set up here.

    None (use the general model) when the server runs another LLM, serves another business,
    or cannot be asked: the transcript is then rougher, never wrong about who is talking.
    """
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            health: Any = (await http.get(f"{server.rstrip('/')}/health")).json()
        engines = health.get("engines") or {}
        if engines.get("llm") != "demo":
            return None
        business, lines = demo_lines(settings_factory(), now())
    except Exception as exc:  # no health, no local settings or profile: the general model
        logger.debug(f"no demo model of Zylin's lines: {exc}")
        return None
    if business != health.get("business"):
        logger.debug(f"server answers for {health.get('business')!r}, not {business!r}")
        return None
    return write_sentence_model(lines, out_dir, name="zylin")

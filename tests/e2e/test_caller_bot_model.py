"""The simulated caller's model of Zylin's demo-mode lines: built only for a demo server of
this business, and it reads Zylin's voice better than pocketsphinx's general model."""

from __future__ import annotations

from pathlib import Path

from devtools.bench.stt_accuracy import phone_line, word_errors
from devtools.caller.bot_model import demo_bot_model, demo_lines
from devtools.caller.transcribe import Transcriber
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server
from zylin.config import Settings
from zylin.local.language_model import normalize, write_sentence_model

OFFER = "On Wednesday I have nine a.m., nine fifteen a.m. and nine thirty a.m. What time works?"


def demo_settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", **overrides}
    return Settings(_env_file=None, twilio_auth_token=AUTH_TOKEN, **values)  # type: ignore[call-arg]


async def test_model_is_built_only_for_a_demo_server_of_this_business(tmp_path: Path) -> None:
    here = demo_settings(tmp_path)
    elsewhere = demo_settings(tmp_path, business_name="Another Shop")
    async with running_server(here, now=lambda: OPEN_NOW) as server:
        model = await demo_bot_model(server.url, tmp_path / "a", settings_factory=lambda: here)
        other = await demo_bot_model(server.url, tmp_path / "b", settings_factory=lambda: elsewhere)
    gone = await demo_bot_model(server.url, tmp_path / "c", settings_factory=lambda: here)
    assert model is not None and model.lm_path.exists() and model.dict_path.exists()
    assert {"wednesday", "goodbye", "dental", "plans"} <= model.vocabulary
    assert other is None  # another business's lines would misread this one
    assert gone is None  # no server to ask: the general model


async def test_a_cloud_server_keeps_the_general_model(fakes: Fakes, tmp_path: Path) -> None:
    settings = cloud_settings(fakes, tmp_path)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        model = await demo_bot_model(server.url, tmp_path / "m", settings_factory=lambda: settings)
    assert model is None  # a real LLM says anything, not only the demo brain's lines


async def test_the_model_reads_zylin_better_than_the_general_model(tmp_path: Path) -> None:
    _, lines = demo_lines(demo_settings(tmp_path), OPEN_NOW)
    assert not [line for line in lines if "{" in line]  # every placeholder was filled
    model = write_sentence_model(lines, tmp_path / "lm", name="zylin")
    audio = await phone_line(OFFER, "en-us", 165)
    reference = normalize(OFFER)
    tuned = Transcriber(model.lm_path, model.dict_path).transcribe(audio)
    general = Transcriber().transcribe(audio)
    tuned_errors = word_errors(reference, tuned.split())
    assert tuned_errors < word_errors(reference, general.split()), (tuned, general)
    assert tuned_errors <= len(reference) // 4, tuned

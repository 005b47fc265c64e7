"""Prompt files: filled from the profile, and never sent with a placeholder left in."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zylin.business import load_profile
from zylin.prompts import REQUIRED_LINES, PromptError, fill, load_prompts, render_system_prompt

EXAMPLE = Path(__file__).resolve().parents[2] / "business" / "example_profile.yaml"


def test_system_prompt_carries_hours_services_and_faq() -> None:
    profile = load_profile(EXAMPLE)
    text = render_system_prompt(
        load_prompts(), profile, now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC), caller_known=True
    )
    assert "Bright Smile Dental" in text
    assert "Friday: 09:00 to 13:00" in text
    assert "Cleaning: 30 minutes, $90" in text
    assert "Do you take insurance?" in text
    assert "Monday, November 30, 2026" in text
    assert "{{" not in text


def test_unfilled_placeholder_is_an_error() -> None:
    with pytest.raises(PromptError, match="missing_one"):
        fill("Hello {{ missing_one }}", {}, source="test")


def test_missing_line_fails_loading(tmp_path: Path) -> None:
    (tmp_path / "system.md").write_text("x", encoding="utf-8")
    (tmp_path / "lines.yaml").write_text("greeting: hi\n", encoding="utf-8")
    with pytest.raises(PromptError, match="still_there"):
        load_prompts(tmp_path)


def test_greeting_mentions_recording_when_on() -> None:
    profile = load_profile(EXAMPLE)
    prompts = load_prompts()
    assert "recorded" not in prompts.greeting(profile)
    profile.recording.enabled = True
    assert prompts.greeting(profile).startswith("This call is recorded.")


def test_every_line_in_lines_yaml_is_spoken_somewhere() -> None:
    """A line nothing says is dead text an owner would edit for nothing."""
    root = Path(__file__).resolve().parents[2]
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for pattern in ("src/zylin/**/*.py", "tools/*.py", "processors/*.py", "bot.py")
        for p in root.glob(pattern)
        if p.name != "prompts.py"  # the loader lists every name; it says none of them
    )
    lines = load_prompts().lines
    assert [name for name in lines if f'"{name}"' not in code] == []
    assert set(REQUIRED_LINES) == set(lines)

"""The dashboard's blocklist edits to the profile file: one line changes, the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from zylin.business import load_profile
from zylin.business.blocklist_file import set_blocklist
from zylin.config import ROOT

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
EXAMPLE = ROOT / "business" / "example_profile.yaml"


def copy_of_example(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text if text is not None else EXAMPLE.read_text(), encoding="utf-8")
    return path


def test_one_line_changes_and_comments_stay(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    before = path.read_text().splitlines()
    profile = set_blocklist(path, ["+1 (555) 010-0666", "+15550100777"], now=NOW)
    assert profile.screening.blocklist == ["+15550100666", "+15550100777"]
    after = path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and '["+15550100666", "+15550100777"]' in changed[0][1]
    assert "# numbers refused unanswered" in changed[0][1]  # its comment kept
    assert load_profile(path).screening.blocklist == ["+15550100666", "+15550100777"]
    set_blocklist(path, [], now=NOW)
    assert load_profile(path).screening.blocklist == []
    assert len(list(tmp_path.glob("profile.yaml.*.bak"))) == 2


@pytest.mark.parametrize(
    "screening",
    [None, {"no_speech_secs": 5}, {"blocklist": ["+15550100111", "+15550100222"]}],
    ids=["no screening section", "no blocklist line", "a block-style list"],
)
def test_other_ways_of_writing_the_profile(tmp_path: Path, screening: dict | None) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.pop("screening")
    if screening is not None:
        data["screening"] = screening
    path = copy_of_example(tmp_path, yaml.safe_dump(data, default_flow_style=False))
    set_blocklist(path, ["+15550100666"], now=NOW)
    profile = load_profile(path)
    assert profile.screening.blocklist == ["+15550100666"]
    if screening and "no_speech_secs" in screening:
        assert profile.screening.no_speech_secs == 5


def test_a_bad_number_changes_nothing(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    before = path.read_text()
    with pytest.raises(ValueError, match=r"E\.164"):
        set_blocklist(path, ["call me maybe"], now=NOW)
    assert path.read_text() == before and list(tmp_path.iterdir()) == [path]

"""The dashboard's blocklist edits to the profile file: one line changes, the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from zylin.business import load_profile
from zylin.business.blocklist_file import block_number, set_blocklist, unblock_number
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
    profile = set_blocklist(path, add=["+1 (555) 010-0666", "+15550100777"], now=NOW)
    assert profile.screening.blocklist == ["+15550100666", "+15550100777"]
    after = path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and '["+15550100666", "+15550100777"]' in changed[0][1]
    assert "# numbers refused unanswered" in changed[0][1]  # its comment kept
    assert load_profile(path).screening.blocklist == ["+15550100666", "+15550100777"]
    set_blocklist(path, remove=["+15550100666", "+1 555 010 0777"], now=NOW)
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
    block_number(path, "+15550100666", now=NOW)
    profile = load_profile(path)
    kept = (screening or {}).get("blocklist", [])
    assert profile.screening.blocklist == sorted([*kept, "+15550100666"])
    if screening and "no_speech_secs" in screening:
        assert profile.screening.no_speech_secs == 5


def test_a_bad_number_changes_nothing(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    before = path.read_text()
    with pytest.raises(ValueError, match=r"E\.164"):
        block_number(path, "call me maybe", now=NOW)
    assert path.read_text() == before and list(tmp_path.iterdir()) == [path]


def test_a_number_added_to_the_file_by_hand_survives_a_block(tmp_path: Path) -> None:
    """The dashboard's process loaded the profile earlier; the owner (or another worker) has
    since added a number to the file: blocking and unblocking others keeps it."""
    path = copy_of_example(tmp_path)
    stale = load_profile(path)  # what the dashboard process holds in memory
    path.write_text(
        path.read_text().replace("blocklist: []", 'blocklist: ["+15550100111"]'), encoding="utf-8"
    )
    assert stale.screening.blocklist == []
    block_number(path, "+15550100666", now=NOW)
    assert load_profile(path).screening.blocklist == ["+15550100111", "+15550100666"]
    unblock_number(path, "+15550100666", now=NOW)
    assert load_profile(path).screening.blocklist == ["+15550100111"]


def test_blocking_twice_or_unblocking_an_unlisted_number_writes_nothing(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    block_number(path, "+15550100666", now=NOW)
    after_first = path.read_text()
    profile = block_number(path, "+1 555 010 0666", now=NOW)
    assert profile.screening.blocklist == ["+15550100666"]
    unblock_number(path, "+15550100999", now=NOW)
    assert path.read_text() == after_first
    assert len(list(tmp_path.glob("profile.yaml.*.bak"))) == 1


def test_a_bad_number_in_the_file_is_left_for_the_owner_to_fix(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    text = path.read_text().replace("blocklist: []", 'blocklist: ["not a number"]')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"blocklist in the file is not valid.*not a number"):
        block_number(path, "+15550100666", now=NOW)
    assert path.read_text() == text and not list(tmp_path.glob("*.bak"))

"""The business profile loader: the documented shape loads, and bad fields are named."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.profile_data import ISSUE_PROFILE
from zylin.business import ProfileError, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "business" / "example_profile.yaml"

MINIMAL = ISSUE_PROFILE


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_example_profile_loads() -> None:
    profile = load_profile(EXAMPLE)
    assert profile.service("cleaning") is not None
    assert profile.hours["sat"] is None


def test_issue_shape_loads_and_overrides_apply(tmp_path: Path) -> None:
    profile = load_profile(
        write(tmp_path, MINIMAL), name_override="Other Name", owner_phone_override="+15559990000"
    )
    assert profile.name == "Other Name"
    assert profile.owner_phone == "+15559990000"
    assert profile.hours["fri"] is not None and profile.hours["fri"].closes.hour == 13


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"owner_phone": "555-1234"}, "owner_phone"),
        ({"hours": {**MINIMAL["hours"], "mon": "9am to 5pm"}}, "hours"),
        ({"hours": {**MINIMAL["hours"], "funday": "09:00-10:00"}}, "hours"),
        ({"services": [{"name": "Cleaning", "minutes": 0}]}, "services.0.minutes"),
        ({"services": []}, "services"),
        ({"faq": [{"q": "Why?"}]}, "faq.0.a"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(ProfileError, match=field.replace(".", r"\.")):
        load_profile(write(tmp_path, {**MINIMAL, **change}))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad)


def test_owner_reachable_follows_transfer_hours(tmp_path: Path) -> None:
    data = {**MINIMAL, "transfer_hours": {"mon": "10:00-11:00"}}
    profile = load_profile(write(tmp_path, data))
    # Monday 2026-11-30 10:30 New York = 15:30 UTC.
    assert profile.owner_reachable_at(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    assert not profile.owner_reachable_at(datetime(2026, 11, 30, 14, 30, tzinfo=UTC))
    assert not profile.owner_reachable_at(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))

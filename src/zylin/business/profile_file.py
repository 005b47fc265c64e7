"""Writing the owner's profile file from the dashboard: validated first, the old file kept as a
backup, replaced in one rename (never half-written)."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from zylin.business.profile import BusinessProfile, ProfileError


def load_mapping(text: str, path: Path) -> dict[str, Any]:
    """The profile text as data; ValueError naming the file if it is not a YAML mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must be a mapping of fields")
    return data


def dump_whole(data: dict[str, Any]) -> str:
    """The whole profile written out again (when an edit in place is not possible)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def write_profile(path: Path, new_text: str, *, now: datetime) -> tuple[BusinessProfile, Path]:
    """Replace the profile with `new_text` if it is a valid profile; returns it and the backup.

    Raises:
        ProfileError: the text would not be a valid profile (nothing is written).
    """
    try:
        profile = BusinessProfile.model_validate(load_mapping(new_text, path))
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ProfileError(f"{path} would not be a valid profile: {detail}") from None
    backup = _free_backup_name(path, now)
    shutil.copy2(path, backup)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_text)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return profile, backup


def _free_backup_name(path: Path, now: datetime) -> Path:
    """`<profile>.<YYYYMMDD-HHMMSS>.bak`, numbered when that name is taken: an older backup
    is never overwritten."""
    stem = f"{path.name}.{now:%Y%m%d-%H%M%S}"
    backup, n = path.with_name(f"{stem}.bak"), 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{stem}-{n}.bak")
    return backup

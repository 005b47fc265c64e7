"""Writing the owner's profile file from the dashboard: validated first, the old file kept as a
backup, replaced in one rename (never half-written), and one edit at a time across threads and
worker processes, each applied to the file as it is then (no edit is lost to another)."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


# Threads of one worker take turns here, worker processes on the flock of `<profile>.lock`
# (flock is per open file, so it would also order threads; this lock does not rely on that).
_IN_PROCESS = threading.Lock()


@dataclass(frozen=True)
class ProfileEdit:
    """What an edit did: the profile now in the file, and the backup of the old one (None when
    the change left the text as it was, so nothing was written)."""

    profile: BusinessProfile
    backup: Path | None


def lock_path(path: Path) -> Path:
    """`<profile>.lock`, next to the profile: held while an edit reads, changes and replaces."""
    return path.with_name(f"{path.name}.lock")


def edit_profile(path: Path, change: Callable[[str], str], *, now: datetime) -> ProfileEdit:
    """Apply `change` to the profile's current text and write the result, holding the lock from
    the read to the rename, so an edit by another thread or worker process is never lost.

    `change` gets the text as it is in the file now (not as this process last loaded it) and
    returns the new text; it may raise ValueError to refuse (nothing is written).

    Raises:
        ProfileError: the new text would not be a valid profile (nothing is written).
        ValueError: `change` refused the edit.
    """
    with _IN_PROCESS, _file_lock(lock_path(path)):
        old_text = path.read_text(encoding="utf-8")
        new_text = change(old_text)
        profile = _validated(new_text, path)
        if new_text == old_text:
            return ProfileEdit(profile, None)
        return ProfileEdit(profile, _replace(path, new_text, now=now))


@contextmanager
def _file_lock(lock: Path) -> Iterator[None]:
    """An exclusive `flock` on `lock` (created if missing, never deleted: deleting it would let
    two processes each lock a different file). Released when the file closes, even on a crash."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _validated(text: str, path: Path) -> BusinessProfile:
    try:
        return BusinessProfile.model_validate(load_mapping(text, path))
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ProfileError(f"{path} would not be a valid profile: {detail}") from None


def _replace(path: Path, new_text: str, *, now: datetime) -> Path:
    """Back the old file up, then swap `new_text` in with one rename; returns the backup."""
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
    return backup


def _free_backup_name(path: Path, now: datetime) -> Path:
    """`<profile>.<YYYYMMDD-HHMMSS>.bak`, numbered when that name is taken: an older backup
    is never overwritten."""
    stem = f"{path.name}.{now:%Y%m%d-%H%M%S}"
    backup, n = path.with_name(f"{stem}.bak"), 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{stem}-{n}.bak")
    return backup

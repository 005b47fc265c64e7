"""The dashboard's edits to the profile's `screening.blocklist`: one line of the owner's file
changes, the rest stays as they wrote it; each edit applies to the file as it is then."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from loguru import logger
from pydantic import ValidationError

from zylin.business.profile import BusinessProfile
from zylin.business.profile_file import dump_whole, edit_profile, load_mapping
from zylin.business.screening import ScreeningRules

_SCREENING = re.compile(r"^screening:\s*(#.*)?$")
_BLOCKLIST = re.compile(r"^(?P<indent>\s+)blocklist:\s*\[[^\]\n]*\](?P<rest>\s*(#.*)?)$")
_TOP_LEVEL = re.compile(r"^[^\s#]")


def block_number(path: Path, number: str, *, now: datetime) -> BusinessProfile:
    """Add `number` to the blocklist in the file; see `set_blocklist`."""
    return set_blocklist(path, add=[number], now=now)


def unblock_number(path: Path, number: str, *, now: datetime) -> BusinessProfile:
    """Take `number` off the blocklist in the file; see `set_blocklist`."""
    return set_blocklist(path, remove=[number], now=now)


def set_blocklist(
    path: Path, *, add: Iterable[str] = (), remove: Iterable[str] = (), now: datetime
) -> BusinessProfile:
    """Add and remove numbers on the blocklist as it is in the file now; returns the new profile.

    The change is applied to the file's current text under the profile lock, never to a list
    this process loaded earlier: a number the owner typed in by hand, or another worker wrote,
    stays. Blocking a blocked number or unblocking one not listed writes nothing.

    Raises:
        ValueError: a number is not E.164, the file's blocklist is not valid, or the file would
            not be a valid profile.
    """
    adding, removing = set(_numbers(add)), set(_numbers(remove))

    def change(old_text: str) -> str:
        current = _current_blocklist(old_text, path)
        wanted = sorted((set(current) | adding) - removing)
        if wanted == current:
            return old_text
        new_text = _with_blocklist(old_text, wanted)
        if new_text is None or _blocklist_in(new_text, path) != wanted:
            logger.warning(f"{path}: rewritten as a whole to set the blocklist (backup kept)")
            old = load_mapping(old_text, path)
            screening = dict(old.get("screening") or {})
            screening["blocklist"] = wanted
            new_text = dump_whole({**old, "screening": screening})
        return new_text

    edit = edit_profile(path, change, now=now)
    count = len(edit.profile.screening.blocklist)
    if edit.backup is None:
        logger.info(f"Blocklist unchanged ({count} number(s))")
    else:
        logger.info(f"Blocklist now has {count} number(s) (backup {edit.backup.name})")
    return edit.profile


def _numbers(numbers: Iterable[str]) -> list[str]:
    """The numbers in E.164, or ValueError in the owner's words: which number, what is wanted."""
    try:
        return ScreeningRules.model_validate({"blocklist": list(numbers)}).blocklist
    except ValidationError as exc:
        raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None


def _current_blocklist(text: str, path: Path) -> list[str]:
    """The blocklist in the file's text; ValueError when it cannot be read (the owner's list is
    then left for them to fix, not overwritten)."""
    screening = load_mapping(text, path).get("screening") or {}
    if not isinstance(screening, dict):
        raise ValueError(f"{path}: `screening` must be a mapping of fields")
    try:
        return _numbers(screening.get("blocklist") or [])
    except ValueError as exc:
        raise ValueError(f"{path}: the blocklist in the file is not valid: {exc}") from None


def _blocklist_in(text: str, path: Path) -> list[str] | None:
    screening = load_mapping(text, path).get("screening") or {}
    try:
        return ScreeningRules.model_validate(screening).blocklist
    except ValidationError:
        return None


def _with_blocklist(text: str, numbers: list[str]) -> str | None:
    """`text` with the one-line `blocklist: [...]` of `screening:` replaced (or added); None
    when the blocklist is written some other way."""
    listed = json.dumps(numbers)
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _SCREENING.match(line)), None)
    if start is None:
        if any(line.startswith("screening:") for line in lines):
            return None  # flow style, e.g. `screening: {blocklist: [...]}`
        tail = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{tail}screening:\n  blocklist: {listed}\n"
    for i in range(start + 1, len(lines)):
        if _TOP_LEVEL.match(lines[i]):
            break
        if match := _BLOCKLIST.match(lines[i]):
            lines[i] = f"{match['indent']}blocklist: {listed}{match['rest']}"
            return "\n".join(lines) + "\n"
        if lines[i].strip().startswith("blocklist:"):
            return None  # a block-style list over several lines
    indent = next(
        (
            line[: len(line) - len(line.lstrip())]
            for line in lines[start + 1 :]
            if line.strip() and not line.lstrip().startswith("#")
        ),
        "  ",
    )
    lines.insert(start + 1, f"{indent or '  '}blocklist: {listed}")
    return "\n".join(lines) + "\n"

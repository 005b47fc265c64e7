"""The dashboard's edits to the profile's `screening.blocklist`: one line of the owner's file
changes, the rest stays as they wrote it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from loguru import logger
from pydantic import ValidationError

from zylin.business.profile import BusinessProfile
from zylin.business.profile_file import dump_whole, load_mapping, write_profile
from zylin.business.screening import ScreeningRules

_SCREENING = re.compile(r"^screening:\s*(#.*)?$")
_BLOCKLIST = re.compile(r"^(?P<indent>\s+)blocklist:\s*\[[^\]\n]*\](?P<rest>\s*(#.*)?)$")
_TOP_LEVEL = re.compile(r"^[^\s#]")


def set_blocklist(path: Path, numbers: list[str], *, now: datetime) -> BusinessProfile:
    """Make the profile's blocklist exactly `numbers`; returns the new profile.

    Raises:
        ValueError: a number is not E.164, or the file would not be a valid profile.
    """
    try:
        wanted = ScreeningRules.model_validate({"blocklist": numbers}).blocklist
    except ValidationError as exc:  # in the owner's words: which number, and what is wanted
        raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    old_text = path.read_text(encoding="utf-8")
    old = load_mapping(old_text, path)
    new_text = _with_blocklist(old_text, wanted)
    if new_text is None or _blocklist_in(new_text, path) != wanted:
        logger.warning(f"{path}: rewritten as a whole to set the blocklist (backup kept)")
        screening = dict(old.get("screening") or {})
        screening["blocklist"] = wanted
        new_text = dump_whole({**old, "screening": screening})
    profile, backup = write_profile(path, new_text, now=now)
    logger.info(f"Blocklist now has {len(wanted)} number(s) (backup {backup.name})")
    return profile


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

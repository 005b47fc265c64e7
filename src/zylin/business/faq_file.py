"""Adding a question and its answer to the profile file's `faq:`, keeping the owner's file as
they wrote it (comments, order), validated before it is written, with a backup of the old one."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from loguru import logger

from zylin.business.profile import Faq
from zylin.business.profile_file import dump_whole, edit_profile, load_mapping

MAX_QUESTION = 300
MAX_ANSWER = 1000
_FAQ_KEY = re.compile(r"^faq:\s*(#.*)?$")
_TOP_LEVEL = re.compile(r"^[^\s#-]")


def clean_entry(question: str, answer: str) -> Faq:
    """The entry to add, or `ValueError` saying what is wrong (in words for the owner)."""
    q, a = " ".join(question.split()), " ".join(answer.split())
    if not 3 <= len(q) <= MAX_QUESTION:
        raise ValueError(f"The question must be 3 to {MAX_QUESTION} characters.")
    if not 1 <= len(a) <= MAX_ANSWER:
        raise ValueError(f"The answer must be 1 to {MAX_ANSWER} characters.")
    return Faq(q=q, a=a)


def add_faq_entry(path: Path, question: str, answer: str, *, now: datetime) -> Path:
    """Append `question` / `answer` to the profile's FAQ; returns the backup of the old file.

    The entry is inserted as one line at the end of the `faq:` block, so the rest of the file
    stays byte for byte. The new file must load as a valid profile whose FAQ is the old one plus
    this entry, else nothing is written. The entry is added to the file as it is now, under the
    profile lock (`edit_profile`), so an edit made meanwhile elsewhere is kept.

    Raises:
        ValueError: the entry is empty or too long, or the file would not be a valid profile.
    """
    entry = clean_entry(question, answer)

    def change(old_text: str) -> str:
        old = load_mapping(old_text, path)
        wanted = [*(old.get("faq") or []), {"q": entry.q, "a": entry.a}]
        new_text = _with_entry(old_text, entry)
        if new_text is None or load_mapping(new_text, path).get("faq") != wanted:
            # The FAQ is written in a way we do not edit in place (flow style, anchors...):
            # write the whole profile out again. Comments are lost, the backup keeps them.
            logger.warning(f"{path}: FAQ rewritten as a whole (comments are kept in the backup)")
            new_text = dump_whole({**old, "faq": wanted})
        return new_text

    backup = edit_profile(path, change, now=now).backup
    if backup is None:  # cannot happen: the text gains an entry; never report a write not made
        raise ValueError(f"{path}: the FAQ entry could not be added")
    logger.info(f"Added a FAQ entry to {path} (backup {backup.name})")
    return backup


def _entry_line(entry: Faq, indent: str) -> str:
    # JSON strings are valid YAML double-quoted scalars: any quote or colon is safe.
    return f"{indent}- {{q: {json.dumps(entry.q)}, a: {json.dumps(entry.a)}}}"


def _with_entry(text: str, entry: Faq) -> str | None:
    """`text` with the entry inserted after the last item of a block-style `faq:`; None if
    the FAQ is not written that way."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _FAQ_KEY.match(line)), None)
    if start is None:
        if any(line.startswith("faq:") for line in lines):
            return None  # flow style, e.g. `faq: []`
        tail = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{tail}faq:\n{_entry_line(entry, '  ')}\n"
    last, indent = start, "  "
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if _TOP_LEVEL.match(line):
            break
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#"):
            last = i
            if stripped.startswith("- ") and last == i:
                indent = line[: len(line) - len(stripped)]
    lines.insert(last + 1, _entry_line(entry, indent))
    return "\n".join(lines) + "\n"

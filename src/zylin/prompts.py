"""Loads the prompt files and fills `{{placeholders}}`, refusing to send a half-filled prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from zylin.business import BusinessProfile
from zylin.config import ROOT

PROMPTS_DIR = ROOT / "prompts"
_PLACEHOLDER = re.compile(r"{{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*}}")
REQUIRED_LINES = (
    "greeting",
    "recording_notice",
    "greeting_closed_messages",
    "greeting_closed_booking",
    "closed_message_offer",
    "after_hours_forwarding",
    "transfer_whisper",
    "transfer_whisper_keypad",
    "transfer_whisper_declined",
    "transfer_connecting",
    "transfer_unavailable",
    "transfer_failed",
    "transfer_no_answer",
    "transfer_leave_message",
    "still_there",
    "silence_goodbye",
    "no_speech_goodbye",
    "max_duration_goodbye",
    "holding",
    "goodbye",
    "shutdown_goodbye",
    "fatal_trouble",
    "legacy_after_beep",
    "legacy_resume",
    "legacy_not_heard",
    "legacy_fallback",
    "legacy_leave_message",
    "legacy_request_message",
    "legacy_message_taken",
    "legacy_trouble",
)


# Lines filled at call time with more than the profile, with sample values to check them by.
TIMED_LINES: dict[str, dict[str, str]] = {
    "greeting_closed_messages": {"opens": "tomorrow at 9 AM"},
    "greeting_closed_booking": {"opens": "tomorrow at 9 AM"},
    "transfer_whisper": {"summary": "Alex Tester about moving Friday's cleaning"},
}
AFTER_HOURS_NOTES = ("open", "closed_take_messages", "closed_book_and_message")


class PromptError(ValueError):
    """A prompt file is missing, malformed, or has a placeholder nobody fills."""


def fill(template: str, values: dict[str, str], *, source: str = "prompt") -> str:
    """Replace every `{{name}}`; an unknown name is an error, never left in the text."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - values.keys())
    if missing:
        raise PromptError(f"{source}: no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Prompts:
    """The loaded prompt files: the system prompt template and the fixed spoken lines."""

    system_template: str
    lines: dict[str, str]
    # after_hours.yaml: what the system prompt says about the business being open or closed.
    after_hours: dict[str, str] = field(default_factory=dict)
    # lines.<language>.yaml: the same lines in other languages (`lines` is English).
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    def lines_in(self, language: str) -> dict[str, str]:
        """The fixed lines in `language` (PromptError if there is no `lines.<language>.yaml`)."""
        if language == "en":
            return self.lines
        if language not in self.translations:
            raise PromptError(f"no prompts/lines.{language}.yaml for the profile's {language}")
        return self.translations[language]

    def line(
        self, name: str, profile: BusinessProfile, *, language: str | None = None, **more: str
    ) -> str:
        """A fixed spoken line, filled in for this business (and `more` values, for
        `TIMED_LINES`), in `language` (default: the profile's first)."""
        language = language or profile.languages[0]
        values = {**_profile_values(profile), **more}
        table = self.lines_in(language)
        source = "lines.yaml" if language == "en" else f"lines.{language}.yaml"
        return fill(table[name], values, source=f"{source}:{name}")

    def filled_lines(self, profile: BusinessProfile, language: str | None = None) -> dict[str, str]:
        """Every fixed line filled in for this business (what a call hands its tools), in
        `language` (default: the profile's first).

        `TIMED_LINES` are left out (they are filled at call time), but still tried here, so a
        placeholder nobody fills fails at start-up, not mid-call; so is every language of the
        profile.
        """
        for code in profile.languages:
            for name in TIMED_LINES.keys() & self.lines_in(code).keys():
                self.line(name, profile, language=code, **TIMED_LINES[name])
            for name in self.lines_in(code).keys() - TIMED_LINES.keys():
                self.line(name, profile, language=code)
        language = language or profile.languages[0]
        return {
            name: self.line(name, profile, language=language)
            for name in self.lines
            if name not in TIMED_LINES
        }

    def greeting(self, profile: BusinessProfile) -> str:
        """The first thing Zylin says, with the recording notice when calls are recorded."""
        text = self.line("greeting", profile)
        if profile.recording.enabled:
            text = f"{self.line('recording_notice', profile)} {text}"
        return text


def load_prompts(directory: Path = PROMPTS_DIR) -> Prompts:
    """Read `system.md` and `lines.yaml`; fail at start-up if either is unusable."""
    try:
        system = (directory / "system.md").read_text(encoding="utf-8")
        lines = yaml.safe_load((directory / "lines.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"cannot read prompt files in {directory}: {exc}") from None
    if not isinstance(lines, dict):
        raise PromptError(f"{directory / 'lines.yaml'} must map line names to text")
    missing = [name for name in REQUIRED_LINES if not isinstance(lines.get(name), str)]
    if missing:
        raise PromptError(f"{directory / 'lines.yaml'} lacks line(s): {', '.join(missing)}")
    try:
        notes = yaml.safe_load((directory / "after_hours.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"cannot read {directory / 'after_hours.yaml'}: {exc}") from None
    if not isinstance(notes, dict) or any(
        not isinstance(notes.get(n), str) for n in AFTER_HOURS_NOTES
    ):
        raise PromptError(f"{directory / 'after_hours.yaml'} needs {', '.join(AFTER_HOURS_NOTES)}")
    return Prompts(
        system_template=system,
        lines={k: str(v) for k, v in lines.items()},
        after_hours={k: str(v) for k, v in notes.items()},
        translations=_translations(directory, set(lines)),
    )


def _translations(directory: Path, names: set[str]) -> dict[str, dict[str, str]]:
    """Every `lines.<language>.yaml`; each must have every line `lines.yaml` has."""
    found = {}
    for path in sorted(directory.glob("lines.*.yaml")):
        language = path.name.split(".")[1]
        try:
            table = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PromptError(f"cannot read {path}: {exc}") from None
        if not isinstance(table, dict):
            raise PromptError(f"{path} must map line names to text")
        missing = sorted(name for name in names if not isinstance(table.get(name), str))
        if missing:
            raise PromptError(f"{path} lacks line(s): {', '.join(missing)}")
        found[language] = {k: str(v) for k, v in table.items()}
    return found


def _profile_values(profile: BusinessProfile) -> dict[str, str]:
    return {"business_name": profile.name, "owner_phone": profile.owner_phone}


def render_system_prompt(
    prompts: Prompts, profile: BusinessProfile, *, now: datetime, caller_known: bool
) -> str:
    """The system prompt for one call: the business's facts and today's date filled in."""
    local = profile.local_now(now)
    services = "\n".join(
        f"  - {s.name}: {s.minutes} minutes" + (f", {s.price}" if s.price else "")
        for s in profile.services
    )
    faq = "\n".join(f"  - Q: {item.q} A: {item.a}" for item in profile.faq) or "  - (none)"
    values = {
        **_profile_values(profile),
        "today": f"{local:%A, %B} {local.day}, {local.year}, and the time is {local:%H:%M}",
        "timezone": profile.timezone,
        "address": profile.address or "not listed; offer to take a message",
        "hours": "\n".join(f"  - {line}" for line in profile.hours_in_words()),
        "services": services,
        "faq": faq,
        "open_now": _open_now(prompts, profile, now),
        "languages": _languages(profile),
        "caller_context": (
            "The caller's phone number is known, so bookings are made under it."
            if caller_known
            else "The caller's number is hidden: bookings cannot be looked up later by phone."
        ),
    }
    return fill(prompts.system_template, values, source="system.md")


def _open_now(prompts: Prompts, profile: BusinessProfile, now: datetime) -> str:
    """Whether the business is open as the call starts, and what that allows (after_hours)."""
    if profile.open_at(now):
        name = "open"
    elif profile.after_hours.mode.books:
        name = "closed_book_and_message"
    else:  # take_messages, or forward when the call reached Zylin anyway
        name = "closed_take_messages"
    opens = profile.opens_again_in_words(now)
    return fill(prompts.after_hours[name], {"opens": opens}, source=f"after_hours.yaml:{name}")


LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "zh": "Chinese",
    "ja": "Japanese",
}


def _languages(profile: BusinessProfile) -> str:
    """Which language to speak: the profile's one, or the caller's among its `languages`."""
    names = [LANGUAGE_NAMES.get(code, code) for code in profile.languages]
    if len(names) == 1:
        return f"Speak {names[0]}."
    return (
        f"Callers may speak {', '.join(names[:-1])} or {names[-1]}. Always reply in the "
        f"language the caller last spoke, and use it for tool arguments meant for people. "
        f"Start in {names[0]}."
    )

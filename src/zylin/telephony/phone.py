"""Phone numbers in logs: masked so a log never identifies a caller."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """A phone number safe for logs: country code and last two digits only."""
    if not number:
        return "unknown"
    digits = number.strip()
    if len(digits) <= 4:
        return "***"
    return f"{digits[:2]}***{digits[-2:]}"

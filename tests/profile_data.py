"""The business profile from the issue, as the YAML data an owner writes (shared by tests)."""

from typing import Any

ISSUE_PROFILE: dict[str, Any] = {
    "name": "Bright Smile Dental",
    "timezone": "America/New_York",
    "owner_phone": "+15551230000",
    "hours": {
        "mon": "09:00-17:00",
        "tue": "09:00-17:00",
        "wed": "09:00-17:00",
        "thu": "09:00-17:00",
        "fri": "09:00-13:00",
        "sat": "closed",
        "sun": "closed",
    },
    "services": [
        {"name": "Cleaning", "minutes": 30, "price": "$90"},
        {"name": "Checkup", "minutes": 45, "price": "$120"},
        {"name": "Whitening", "minutes": 60, "price": "$250"},
    ],
    "faq": [{"q": "Do you take insurance?", "a": "Yes, most major plans."}],
}

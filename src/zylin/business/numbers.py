"""The one rule for a phone number in the profile: E.164 ("+" country code and number)."""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

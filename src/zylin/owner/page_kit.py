"""What the owner's pages that change the profile share: reloading it once it was written.

(They render, gate and check forms like every page: `zylin.owner.render.Pages`, `auth.csrf_ok`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from zylin.state import AppState


def reload_profile(state: AppState) -> None:
    """New calls in this process use the written profile at once (other worker processes pick
    the file up on their next call: `zylin.app.profile_refresh`)."""
    from zylin.state import load_business

    try:
        state.profile = load_business(state.settings)
    except ValueError as exc:  # cannot happen after validation, but never break the page
        logger.error(f"Profile not reloaded: {exc}")

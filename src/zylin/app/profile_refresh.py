"""Picks up an edited business profile (the dashboard's "add to FAQ", or the owner's editor)
for new calls, in every worker process, without a restart."""

from __future__ import annotations

from loguru import logger
from starlette.datastructures import State

from zylin.state import AppState, load_business


def refresh_profile(app_state: State) -> None:
    """Reload the profile when its file changed since this process last read it.

    Cheap (one `stat`), so it runs as each call comes in. A file that no longer validates is
    not used: calls go on with the last good profile, and the log says why.
    """
    state: AppState = app_state.zylin
    path = state.settings.business_profile
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        logger.warning(f"Business profile {path} unreadable ({exc}); keeping the loaded one")
        return
    seen = getattr(app_state, "profile_mtime", None)
    app_state.profile_mtime = mtime
    if seen == mtime:
        return  # (the first call of a process reloads once: it cannot know what it loaded)
    try:
        state.profile = load_business(state.settings)
    except ValueError as exc:
        logger.error(f"Business profile changed but is not valid, keeping the old one: {exc}")
        return
    if seen is not None:
        logger.info(f"Business profile {path.name} changed: new calls use it")

"""The owner's side: JSON API under /api and pages under /dashboard, behind ADMIN_TOKEN."""

from zylin.owner.api import api_router
from zylin.owner.views import dashboard_router

__all__ = ["api_router", "dashboard_router"]

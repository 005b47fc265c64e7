"""The owner's side: JSON API under /api and pages under /dashboard, behind ADMIN_TOKEN."""

from dashboard.api import api_router
from dashboard.views import dashboard_router

__all__ = ["api_router", "dashboard_router"]

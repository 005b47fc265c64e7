"""The browser phone's page: a Call button, hang-up and a live transcript, behind sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zylin.owner.render import Pages

PHONE_PAGE = "/dashboard/phone"
# The dashboard's headers (our own scripts, WebSocket and fetches), plus the microphone for
# this origin only.
PHONE_HEADERS = {"Permissions-Policy": "microphone=(self), camera=(), geolocation=()"}


def phone_page_router() -> APIRouter:
    """`GET /dashboard/phone` (its scripts are under `/dashboard/static/`, signed in)."""
    router = APIRouter(include_in_schema=False)
    pages = Pages()

    @router.get(PHONE_PAGE)
    async def phone_page(request: Request) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        return pages.page(request, "phone.html", headers=PHONE_HEADERS)

    return router

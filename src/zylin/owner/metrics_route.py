"""`GET /metrics`: the Prometheus scrape, open or behind the owner's token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from zylin.owner.auth import bearer_matches, owner_token


def metrics_router() -> APIRouter:
    """`GET /metrics`: open when `METRICS_PUBLIC` (default), else behind Bearer `ADMIN_TOKEN`.

    The metrics carry counts and timings only (no numbers, names or transcripts), so open
    scraping is the default; `METRICS_PUBLIC=false` closes them to all but the owner's token.
    """
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        state = request.app.state.zylin
        settings = state.settings
        if not settings.metrics_public:
            token = owner_token(settings)
            if token is None:
                return PlainTextResponse("Not Found", status_code=404)
            if not bearer_matches(request.headers.get("authorization"), token):
                return PlainTextResponse(
                    "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router

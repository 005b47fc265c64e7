"""Operational visibility: Prometheus metrics owned by the app, not a process-global registry."""

from observability.metrics import LATENCY_STAGES, ZylinMetrics, metrics_router

__all__ = ["LATENCY_STAGES", "ZylinMetrics", "metrics_router"]

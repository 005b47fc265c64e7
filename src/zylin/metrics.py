"""Prometheus metrics for calls, turn latency, tools and service errors, plus `GET /metrics`."""

from __future__ import annotations

import re

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Stage label values of `zylin_turn_latency_seconds`, keyed by the `call_turns` column they mirror.
LATENCY_STAGES: dict[str, str] = {
    "stt_ms": "stt",
    "llm_ttfb_ms": "llm_ttfb",
    "tts_ttfb_ms": "tts_ttfb",
    "voice_to_voice_ms": "voice_to_voice",
}
# Voice turns live between ~50 ms (a cached TTS start) and a few seconds (the 3 s budget and
# the turns that blow it); finer buckets where the budget decisions are made.
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
_LABEL_SAFE = re.compile(r"[^a-z0-9_.-]+")
_MAX_LABEL = 40


def _label(value: str | None) -> str:
    """Bound label values: they come from code, but a typo must not explode cardinality."""
    cleaned = _LABEL_SAFE.sub("_", (value or "unknown").strip().lower())[:_MAX_LABEL]
    return cleaned or "unknown"


class ZylinMetrics:
    """Zylin's Prometheus metrics on a registry of their own.

    Each app gets its own `CollectorRegistry`, so several apps in one test process (or one
    process serving several businesses) never clash over metric names.

    Args:
        registry: where to register; a fresh registry when omitted.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._active = 0
        self.active_calls = Gauge(
            "zylin_active_calls", "Calls in progress.", registry=self.registry
        )
        self.calls_total = Counter(
            "zylin_calls",
            "Calls ended, by end reason.",
            ["end_reason"],
            registry=self.registry,
        )
        self.turn_latency_seconds = Histogram(
            "zylin_turn_latency_seconds",
            "Per-turn latency by stage: stt, llm_ttfb, tts_ttfb, voice_to_voice.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tool_calls_total = Counter(
            "zylin_tool_calls",
            "LLM tool calls, by tool name and outcome.",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.service_errors_total = Counter(
            "zylin_service_errors",
            "Errors from external services (stt, llm, tts, twilio, database...).",
            ["service"],
            registry=self.registry,
        )
        # Show every stage from the first scrape, so dashboards and alerts see zeros, not gaps.
        for stage in LATENCY_STAGES.values():
            self.turn_latency_seconds.labels(stage=stage)

    def call_started(self) -> None:
        """A call's pipeline started."""
        self._active += 1
        self.active_calls.set(self._active)

    def call_ended(self, reason: str | None) -> None:
        """A call ended, by its end reason (see `zylin.end_reason.EndReason`)."""
        self._active = max(0, self._active - 1)  # never negative if an end is reported twice
        self.active_calls.set(self._active)
        self.calls_total.labels(end_reason=_label(reason)).inc()

    def observe_turn(
        self,
        *,
        stt_ms: float | None = None,
        llm_ttfb_ms: float | None = None,
        tts_ttfb_ms: float | None = None,
        voice_to_voice_ms: float | None = None,
    ) -> None:
        """Record one turn's latency breakdown, in milliseconds as stored in `call_turns`.

        Stages that were not measured (None) or are nonsensical (negative) are skipped.
        """
        for column, value in (
            ("stt_ms", stt_ms),
            ("llm_ttfb_ms", llm_ttfb_ms),
            ("tts_ttfb_ms", tts_ttfb_ms),
            ("voice_to_voice_ms", voice_to_voice_ms),
        ):
            if value is not None and value >= 0:
                self.observe_stage(LATENCY_STAGES[column], value / 1000.0)

    def observe_stage(self, stage: str, seconds: float) -> None:
        """Record one latency figure for a stage, in seconds."""
        self.turn_latency_seconds.labels(stage=_label(stage)).observe(seconds)

    def tool_call(self, name: str, outcome: str) -> None:
        """A tool ran; outcome is e.g. ok, error (an {"error": ...} result) or exception."""
        self.tool_calls_total.labels(tool=_label(name), outcome=_label(outcome)).inc()

    def service_error(self, service: str) -> None:
        """An external service failed (stt, llm, tts, twilio, database)."""
        self.service_errors_total.labels(service=_label(service)).inc()

    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format."""
        return generate_latest(self.registry)

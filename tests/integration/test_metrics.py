"""Prometheus metrics: an app-owned registry, the pipeline's methods, `GET /metrics` over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import running_server
from zylin.config import Settings
from zylin.metrics import ZylinMetrics

ADMIN = "metrics-owner-token-0123456789"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}",
        "demo_mode": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse the exposition text into {(sample name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_each_instance_has_its_own_registry() -> None:
    first, second = ZylinMetrics(), ZylinMetrics()  # would raise "Duplicated timeseries" if global
    first.call_started()
    assert _samples(first.render().decode())[("zylin_active_calls", ())] == 1
    assert _samples(second.render().decode())[("zylin_active_calls", ())] == 0
    assert first.registry is not second.registry


def test_pipeline_methods_feed_every_metric() -> None:
    metrics = ZylinMetrics()
    metrics.call_started()
    metrics.call_started()
    metrics.call_ended("caller_hangup")
    metrics.observe_turn(stt_ms=180, llm_ttfb_ms=420, tts_ttfb_ms=150, voice_to_voice_ms=950)
    metrics.observe_turn(voice_to_voice_ms=4200, stt_ms=None, llm_ttfb_ms=-1)
    metrics.tool_call("book_appointment", "ok")
    metrics.tool_call("book_appointment", "error")
    metrics.service_error("deepgram")
    samples = _samples(metrics.render().decode())

    assert samples[("zylin_active_calls", ())] == 1
    assert samples[("zylin_calls_total", (("end_reason", "caller_hangup"),))] == 1
    v2v = (("stage", "voice_to_voice"),)
    assert samples[("zylin_turn_latency_seconds_count", v2v)] == 2
    assert abs(samples[("zylin_turn_latency_seconds_sum", v2v)] - 5.15) < 1e-9
    assert samples[("zylin_turn_latency_seconds_bucket", (("le", "1.0"), *v2v))] == 1
    assert samples[("zylin_turn_latency_seconds_bucket", (("le", "5.0"), *v2v))] == 2
    llm = (("stage", "llm_ttfb"),)
    assert samples[("zylin_turn_latency_seconds_count", llm)] == 1  # the -1 was skipped
    assert samples[("zylin_turn_latency_seconds_count", (("stage", "stt"),))] == 1
    assert samples[("zylin_turn_latency_seconds_count", (("stage", "tts_ttfb"),))] == 1
    ok = (("outcome", "ok"), ("tool", "book_appointment"))
    assert samples[("zylin_tool_calls_total", ok)] == 1
    assert samples[("zylin_service_errors_total", (("service", "deepgram"),))] == 1


def test_active_calls_never_negative_and_labels_are_bounded() -> None:
    metrics = ZylinMetrics()
    metrics.call_ended("error")
    metrics.call_ended(None)
    metrics.tool_call("Weird Tool Name!" * 10, "OK")
    samples = _samples(metrics.render().decode())
    assert samples[("zylin_active_calls", ())] == 0
    assert samples[("zylin_calls_total", (("end_reason", "unknown"),))] == 1
    (tool,) = [dict(labels)["tool"] for name, labels in samples if name == "zylin_tool_calls_total"]
    assert len(tool) <= 40 and tool.startswith("weird_tool_name_")


async def test_metrics_endpoint_is_open_by_default(tmp_path: Path) -> None:
    async with running_server(_settings(tmp_path)) as server, httpx.AsyncClient() as client:
        server.state.metrics.call_started()
        server.state.metrics.observe_turn(voice_to_voice_ms=800)
        response = await client.get(server.url + "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"] == CONTENT_TYPE_LATEST
        text = response.text
        for name in (
            "zylin_active_calls",
            "zylin_calls_total",
            "zylin_turn_latency_seconds",
            "zylin_tool_calls_total",
            "zylin_service_errors_total",
        ):
            assert f"# TYPE {name.removesuffix('_total')}" in text, name
        samples = _samples(text)
        assert samples[("zylin_active_calls", ())] == 1
        v2v = (("stage", "voice_to_voice"),)
        assert samples[("zylin_turn_latency_seconds_count", v2v)] == 1
        # Every stage is exported from the start, so dashboards see zeros rather than gaps.
        for stage in ("stt", "llm_ttfb", "tts_ttfb"):
            assert ("zylin_turn_latency_seconds_count", (("stage", stage),)) in samples


async def test_two_servers_keep_separate_metrics(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        running_server(_settings(tmp_path / "a")) as first,
        running_server(_settings(tmp_path / "b")) as second,
        httpx.AsyncClient() as client,
    ):
        first.state.metrics.call_ended("transferred")
        one = _samples((await client.get(first.url + "/metrics")).text)
        two = _samples((await client.get(second.url + "/metrics")).text)
        key = ("zylin_calls_total", (("end_reason", "transferred"),))
        assert one[key] == 1 and key not in two


async def test_private_metrics_need_the_admin_token(tmp_path: Path) -> None:
    settings = _settings(tmp_path, metrics_public=False, admin_token=ADMIN)
    async with running_server(settings) as server, httpx.AsyncClient() as client:
        url = server.url + "/metrics"
        refused = await client.get(url)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        wrong = await client.get(url, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        allowed = await client.get(url, headers={"Authorization": f"Bearer {ADMIN}"})
        assert allowed.status_code == 200 and "zylin_active_calls" in allowed.text


async def test_private_metrics_without_admin_token_are_off(tmp_path: Path) -> None:
    settings = _settings(tmp_path, metrics_public=False)
    async with running_server(settings) as server, httpx.AsyncClient() as client:
        assert (await client.get(server.url + "/metrics")).status_code == 404

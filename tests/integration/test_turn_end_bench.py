"""The end-of-turn benchmark: its labelled set, its audio, and one real-time run of the harness."""

from __future__ import annotations

import pytest

from devtools.bench.turn_end import HEADER, PIPELINE_RATE, table_row
from devtools.bench.turn_end_audio import load_utterances, speak
from devtools.bench.turn_end_harness import HarnessOptions, run_strategy
from devtools.bench.turn_end_strategies import SHIPPED, STRATEGIES, by_names


def test_labelled_set_covers_what_issue_11_asks() -> None:
    items = load_utterances()
    assert len(items) >= 30
    assert len({i.id for i in items}) == len(items)
    kinds = {i.kind for i in items}
    assert kinds == {"short", "question", "pause"}
    texts = {" ".join(i.segments) for i in items if i.kind == "short"}
    for needed in ("Okay bye.", "yes", "no", "It's Priya.", "ten thirty", "Tuesday?"):
        assert needed in texts
    for item in items:
        if item.kind == "pause":
            assert len(item.segments) >= 2
            assert all(400 <= p <= 900 for p in item.pauses_ms)
        else:
            assert item.pauses_ms == []


def test_limit_takes_each_kind_in_turn() -> None:
    assert [i.kind for i in load_utterances(limit=3)] == ["short", "question", "pause"]


async def test_spoken_pause_sits_between_the_segments() -> None:
    item = next(i for i in load_utterances() if i.kind == "pause")
    spoken = await speak(item, PIPELINE_RATE)
    (first_start, first_end), (second_start, second_end) = spoken.segment_spans
    assert first_start == 0.0
    assert second_start - first_end == pytest.approx(item.pauses_ms[0] / 1000, abs=0.001)
    assert second_end == spoken.last_word_end
    assert len(spoken.pcm) / 2 / PIPELINE_RATE == pytest.approx(second_end, abs=0.02)


@pytest.mark.timing
@pytest.mark.parametrize("stt_mode", ["speech", "finalize"])
async def test_harness_runs_the_shipped_strategy_on_three_utterances(stt_mode: str) -> None:
    spoken = [await speak(u, PIPELINE_RATE) for u in load_utterances(limit=3)]
    (spec,) = by_names([SHIPPED])
    options = HarnessOptions(max_tail_secs=3.0, stt_mode=stt_mode)
    result = await run_strategy(spec, spoken, options=options)

    assert result.strategy == SHIPPED
    assert result.copies == 1
    assert [(i.id, i.kind) for i in result.items] == [
        (s.utterance.id, s.utterance.kind) for s in spoken
    ]
    for item in result.items:
        assert item.copy == 0
        assert item.wait_s is not None, f"{item.id}: no turn end after the last word"
        assert item.wait_s >= 0
        assert item.cutoffs >= 0
    row = table_row(result)
    assert row.startswith(f"| {SHIPPED} | 1 | 3 |")
    assert row.count("|") == HEADER.splitlines()[0].count("|")


def test_strategy_names_are_unique_and_selectable() -> None:
    names = [s.name for s in STRATEGIES]
    assert len(set(names)) == len(names)
    assert [s.name for s in by_names(["smart-turn"])] == [n for n in names if "smart" in n]
    with pytest.raises(ValueError):
        by_names(["no such strategy"])


def test_falling_pauses_drop_the_continuation_comma() -> None:
    default = [i for i in load_utterances() if i.kind == "pause"]
    falling = [i for i in load_utterances(falling_pauses=True) if i.kind == "pause"]
    assert all(s.endswith(",") for i in default for s in i.segments[:-1])
    assert not any(s.endswith(",") for i in falling for s in i.segments)
    assert [i.segments[-1] for i in falling] == [i.segments[-1] for i in default]

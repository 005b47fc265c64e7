"""The load benchmark's pure parts: utterances and gaps, windows, the row, /proc readings."""

from __future__ import annotations

import os

from pytest import approx

from devtools.bench.load_analysis import (
    CallFigures,
    common_window,
    gaps_within,
    heard_gaps_at,
    utterances,
)
from devtools.bench.load_report import COLUMNS, LoadResult, percentile, row
from devtools.bench.proc_tree import read_tree, tree_pids


def test_marks_split_utterances_and_only_pauses_inside_one_count() -> None:
    arrivals = [0.00, 0.04, 0.08, 0.30, 0.34, 2.00, 2.04]  # 220 ms pause, then a new reply
    marks = [1.0]  # the first utterance's mark came after its last media
    assert utterances(arrivals, marks) == [[0.00, 0.04, 0.08, 0.30, 0.34], [2.00, 2.04]]
    gaps = gaps_within(arrivals, marks, over_ms=100)
    assert [round(g) for g in gaps] == [220]


def test_a_pause_with_a_boundary_in_it_is_not_a_gap() -> None:
    assert gaps_within([0.0, 0.5, 0.52], [0.5], over_ms=100) == []
    assert gaps_within([0.0, 0.5, 0.52], [], over_ms=100) == [500.0]


def test_a_gap_is_heard_only_when_playback_ran_dry_inside_an_utterance() -> None:
    arrivals = [0.00, 0.30, 0.60, 2.00, 2.50]
    dry = [0.0, 0.0, 0.25, 1.2, 0.45]  # sent ahead, then late by 250 ms; a new reply; late again
    marks = [1.0]
    gaps = heard_gaps_at(arrivals, dry, marks, over_ms=100)
    assert [round(g) for _, g in gaps] == [250, 450]  # the silence between replies is not a gap
    assert [t for t, _ in gaps] == [0.60, 2.50]  # each told with the arrival that ended it
    assert gaps_within(arrivals, marks, over_ms=100) == approx([300, 300, 500])


def test_common_window_is_the_overlap_or_nothing() -> None:
    assert common_window([(1.0, 5.0), (1.5, 4.0)]) == (1.5, 4.0)
    assert common_window([(1.0, 2.0), (1.9, 4.0)]) is None  # 0.1 s is too short to measure
    assert common_window([]) is None


def test_row_has_every_column_and_counts_missing_calls() -> None:
    figures = [
        CallFigures(
            greeting_ms=500,
            voice_to_voice_ms=[300, 400],
            unanswered=1,
            gaps_ms=[150],
            heard_gaps_ms=[120],
        ),
        CallFigures(greeting_ms=700, voice_to_voice_ms=[500], unanswered=2, gaps_ms=[]),
    ]
    result = LoadResult(
        calls=3, stagger=0.25, latency="zero", workers="2", turns=3, figures=figures
    )
    result.cpu_listening_pct, result.cpu_talking_pct, result.memory_mib = 1.25, 4.5, 12.0
    cells = [c.strip() for c in row(result)[2:-2].split(" | ")]
    assert dict(zip(COLUMNS, cells, strict=True)) == {
        "calls": "3",
        "stagger (s)": "0.25",
        "latency": "zero",
        "workers": "2",
        "v2v median (ms)": "400",
        "v2v p95 (ms)": "500",
        "v2v max (ms)": "500",
        "unanswered turns": "6 of 9",  # 1 + 2 + the third call's 3 never spoken
        "greeting p95 (ms)": "700 (1 missing)",
        "gaps > 100 ms (count / largest)": "1 / 150 ms",
        "heard gaps > 100 ms (count / largest)": "1 / 120 ms",
        "CPU/call listening (% core)": "1.2",
        "CPU/call talking (% core)": "4.5",
        "memory/call (MiB)": "12.0",
    }


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
    assert percentile([5], 50) == 5


def test_proc_tree_reads_this_process() -> None:
    usage = read_tree(os.getpid())
    assert os.getpid() in tree_pids(os.getpid())
    assert usage.cpu_seconds > 0 and usage.rss_bytes > 1024 * 1024 and usage.processes >= 1

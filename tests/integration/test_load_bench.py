"""`./zylin bench load` end to end: 2 calls x 1 turn on a real server process and the fakes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from devtools.bench.load import LoadOptions, run_load
from devtools.bench.load_report import COLUMNS, header, row
from zylin.config import default_worker_count

pytestmark = pytest.mark.timeout(300)

NUMBER = r"-?\d+(\.\d+)?"


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    return [cell.strip() for cell in line[2:-2].split(" | ")]


async def test_two_calls_give_a_full_row(tmp_path: Path) -> None:
    # A generous reply limit: this checks the row's shape and sanity, not the timings.
    options = LoadOptions(calls=2, stagger=0.25, turns=1, unanswered_secs=30.0)
    result = await run_load(options, workdir=tmp_path)

    head, separator = header().splitlines()
    assert _cells(head) == list(COLUMNS)
    assert separator.count("---") == len(COLUMNS)
    cells = dict(zip(COLUMNS, _cells(row(result)), strict=True))
    assert cells["calls"] == "2"
    assert cells["stagger (s)"] == "0.25"
    assert cells["latency"] == "zero"
    # As `./zylin serve` runs it: the test fakes' one-worker setting must not leak into the row.
    assert cells["workers"] == (os.environ.get("WORKERS") or str(default_worker_count()))
    median, p95, peak = (
        float(cells[c]) for c in ("v2v median (ms)", "v2v p95 (ms)", "v2v max (ms)")
    )
    assert 0 < median <= p95 <= peak
    assert cells["unanswered turns"] == "0 of 2"
    assert float(cells["greeting p95 (ms)"]) > 0  # both greetings came ("missing" otherwise)
    assert re.fullmatch(r"0 / -|\d+ / \d+ ms", cells["gaps > 100 ms (count / largest)"])
    for column in ("CPU/call listening (% core)", "CPU/call talking (% core)"):
        assert re.fullmatch(NUMBER, cells[column]), (column, cells[column])
        assert -50 < float(cells[column]) < 400, (column, cells[column])
    assert re.fullmatch(NUMBER, cells["memory/call (MiB)"])
    assert len(result.voice_to_voice_ms) == 2
    assert all(f.listening and f.talking for f in result.figures), "both windows per call"
    assert (tmp_path / "server.log").exists()

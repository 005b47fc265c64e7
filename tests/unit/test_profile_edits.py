"""Dashboard edits to the profile file made at the same moment, by threads of one worker or by
several worker processes: every one of them lands (none is lost to a read-modify-write race)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from zylin.business import load_profile
from zylin.business.blocklist_file import block_number
from zylin.business.faq_file import add_faq_entry
from zylin.business.profile import ProfileError
from zylin.business.profile_file import edit_profile, lock_path
from zylin.config import ROOT

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
EXAMPLE = ROOT / "business" / "example_profile.yaml"


def copy_of_example(tmp_path: Path) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def number(n: int) -> str:
    return f"+1555010{n:04d}"


def test_concurrent_blocklist_and_faq_edits_from_threads_all_land(tmp_path: Path) -> None:
    path = copy_of_example(tmp_path)
    faq_before = [f.q for f in load_profile(path).faq]
    edits: list[Callable[[], object]] = [
        *(lambda n=n: block_number(path, number(n), now=NOW) for n in range(4)),
        *(
            lambda n=n: add_faq_entry(path, f"Question number {n}?", "Yes.", now=NOW)
            for n in range(4)
        ),
    ]
    start = threading.Barrier(len(edits))
    failures: list[BaseException] = []

    def run(edit: Callable[[], object]) -> None:
        start.wait()
        try:
            edit()
        except BaseException as exc:  # reported below, with the test's own assertion
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(edit,)) for edit in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    profile = load_profile(path)
    assert profile.screening.blocklist == [number(n) for n in range(4)]
    assert sorted(f.q for f in profile.faq) == sorted(
        [*faq_before, *(f"Question number {n}?" for n in range(4))]
    )
    assert len(list(tmp_path.glob("profile.yaml.*.bak"))) == len(edits)  # one backup per edit


def _block_several(path: Path, first: int, count: int, start: Barrier) -> None:
    """One worker process: blocks `count` numbers from `first` on, one after another."""
    start.wait()
    for n in range(first, first + count):
        block_number(path, number(n), now=NOW)


def test_concurrent_edits_from_worker_processes_all_land(tmp_path: Path) -> None:
    """Each process has its own thread lock: only the file lock keeps them from racing."""
    path = copy_of_example(tmp_path)
    context = multiprocessing.get_context("fork")
    workers, each = 3, 4
    start = context.Barrier(workers)
    processes = [
        context.Process(target=_block_several, args=(path, w * each, each, start))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * workers
    wanted = [number(n) for n in range(workers * each)]
    assert load_profile(path).screening.blocklist == wanted
    assert lock_path(path).exists()  # the lock file stays, so every process locks the same one


def test_a_change_that_breaks_the_profile_writes_nothing_and_frees_the_lock(
    tmp_path: Path,
) -> None:
    path = copy_of_example(tmp_path)
    before = path.read_text(encoding="utf-8")
    with pytest.raises(ProfileError, match="would not be a valid profile"):
        edit_profile(path, lambda text: text + "timezone: Mars/Olympus\n", now=NOW)
    assert path.read_text(encoding="utf-8") == before
    assert not list(tmp_path.glob("*.bak"))
    block_number(path, number(1), now=NOW)  # the lock was released: the next edit goes through
    assert load_profile(path).screening.blocklist == [number(1)]

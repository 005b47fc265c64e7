"""CPU time and resident memory of a process and all its descendants, read from Linux /proc.

psutil is not a dependency, and /proc gives both figures in two small reads per process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PROC = Path("/proc")


@dataclass(frozen=True)
class TreeUsage:
    """One reading of a process tree.

    Attributes:
        cpu_seconds: User + system CPU time of every live process in the tree, plus what its
            reaped children used (`cutime`/`cstime`), so a worker that exited still counts.
        rss_bytes: Resident memory summed over the live processes (shared pages count once
            per process, as `ps` shows them).
        processes: How many processes were read.
    """

    cpu_seconds: float
    rss_bytes: int
    processes: int


def _children(pid: int) -> list[int]:
    """Direct children, from `/proc/<pid>/task/*/children` (one read per thread)."""
    found: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def tree_pids(root: int) -> list[int]:
    """`root` and every descendant alive now."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(_children(pid))
    return pids


def _read_one(pid: int) -> tuple[float, int] | None:
    """(CPU seconds incl. reaped children, RSS bytes) of one process; None if it is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        statm = (_PROC / str(pid) / "statm").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing ')' are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    rss_pages = int(statm.split()[1])
    return (utime + stime + cutime + cstime) / _TICKS, rss_pages * _PAGE


def read_tree(root: int) -> TreeUsage:
    """CPU time and RSS of `root` and its descendants, now."""
    cpu, rss, count = 0.0, 0, 0
    for pid in tree_pids(root):
        one = _read_one(pid)
        if one is None:
            continue
        cpu += one[0]
        rss += one[1]
        count += 1
    return TreeUsage(cpu_seconds=cpu, rss_bytes=rss, processes=count)

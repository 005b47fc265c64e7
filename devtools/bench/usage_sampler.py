"""Samples a process tree's CPU time and memory on the event loop's clock, for window averages."""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass

from devtools.bench.proc_tree import read_tree


@dataclass(frozen=True)
class Sample:
    """One reading: loop time, cumulative CPU seconds of the tree, resident bytes."""

    t: float
    cpu_seconds: float
    rss_bytes: int


class UsageSampler:
    """Reads the tree every `interval` seconds while `run` is running.

    CPU over a window is interpolated between the samples around its ends, so windows need
    not line up with the sampling grid.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self.lags: list[float] = []  # how late each wake-up was: this process's own loop lag

    def sample_now(self) -> Sample:
        """Take one reading now and keep it."""
        usage = read_tree(self.pid)
        sample = Sample(asyncio.get_running_loop().time(), usage.cpu_seconds, usage.rss_bytes)
        self.samples.append(sample)
        return sample

    async def run(self) -> None:
        """Sample until cancelled (a /proc read of a few processes takes well under 1 ms).

        Also notes how late each wake-up is: the callers and fakes share this loop, so a late
        wake-up means the load generator itself was busy and its timings are less exact.
        """
        loop = asyncio.get_running_loop()
        while True:
            self.sample_now()
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.lags.append(loop.time() - due)

    def _cpu_at(self, t: float) -> float | None:
        times = [s.t for s in self.samples]
        i = bisect.bisect_left(times, t)
        if i == 0 or i == len(times):
            return None
        a, b = self.samples[i - 1], self.samples[i]
        share = (t - a.t) / (b.t - a.t) if b.t > a.t else 0.0
        return a.cpu_seconds + share * (b.cpu_seconds - a.cpu_seconds)

    def cores_used(self, start: float, end: float) -> float | None:
        """Average cores the tree used between loop times `start` and `end`; None if unsampled."""
        if end <= start:
            return None
        a, b = self._cpu_at(start), self._cpu_at(end)
        if a is None or b is None:
            return None
        return (b - a) / (end - start)

    def rss_near(self, t: float) -> int | None:
        """Resident bytes of the sample closest to loop time `t`."""
        if not self.samples:
            return None
        return min(self.samples, key=lambda s: abs(s.t - t)).rss_bytes

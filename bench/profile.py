"""Sampling profiles of the running services during a benchmark (py-spy).

    python -m bench.desk --events 100000 --profile bench/results/profile

``Profiler`` samples every named process with ``py-spy record`` (collapsed
stacks, only while the process holds the GIL, so waiting on a socket is left
out and the shares are of CPU) while a load runs; ``summary`` turns a
collapsed file into the functions that took the most samples on their own and
under them, which is where a command's CPU goes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

SAMPLES_PER_SECOND = 200


class Profiler:
    """py-spy attached to each process for ``seconds``; ``wait`` until all have written."""

    def __init__(self, outdir: Path) -> None:
        beside_python = Path(sys.executable).with_name("py-spy")
        self.py_spy = str(beside_python) if beside_python.exists() else shutil.which("py-spy")
        if self.py_spy is None:
            raise RuntimeError("py-spy is not installed: make bench installs it (the bench extra)")
        self.outdir = outdir
        self._running: list[subprocess.Popen] = []

    def start(self, pids: dict[str, int], seconds: float) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            self._running.append(
                subprocess.Popen(
                    [
                        self.py_spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(max(1, round(seconds))),
                        "--rate",
                        str(SAMPLES_PER_SECOND),
                        "--format",
                        "raw",
                        "--output",
                        str(self.outdir / f"{name}.txt"),
                        "--nonblocking",
                        "--gil",  # only while holding the GIL: CPU, not waiting
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def wait(self) -> None:
        for process in self._running:
            process.wait()
        self._running.clear()


def summary(collapsed: Path, top: int = 25) -> dict[str, list[tuple[str, float]]]:
    """The ``top`` functions by share of samples: on their own (self) and with their callees."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        for frame in set(frames):
            under[frame] += samples
    if not total:
        return {"self": [], "inclusive": []}
    return {
        "self": [(frame, round(100 * n / total, 1)) for frame, n in own.most_common(top)],
        "inclusive": [(frame, round(100 * n / total, 1)) for frame, n in under.most_common(top)],
    }

"""Where the test suite's time goes: each test's worker, start, wall time and CPU time.

As a pytest plugin it appends one JSON line per test to ``$SUITE_TIMELINE`` (default suite-timeline.jsonl);
the CPU time is the worker's own plus that of the child processes it waited for (the Snakemake runs a
test starts, and their jobs); jobs that run under SLURM's daemons are not counted. Run on its own it
summarises such a file: per worker the busy time and the CPU time, then the tests by CPU time.

```bash
SUITE_TIMELINE=timeline.jsonl PYTHONPATH=benchmarks python -m pytest -p suite_timeline -q -n 2 --dist loadgroup
python benchmarks/suite_timeline.py timeline.jsonl
```
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    started, cpu = time.time(), _cpu_seconds()
    yield
    row = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid, "start": started,
           "end": time.time(), "cpu": _cpu_seconds() - cpu}
    with open(os.environ.get("SUITE_TIMELINE", "suite-timeline.jsonl"), "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def summary(path: Path, top: int = 25) -> str:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    start, end = min(r["start"] for r in rows), max(r["end"] for r in rows)
    lines = [f"{len(rows)} tests, {end - start:.0f} s from the first test's start to the last one's end, "
             f"{sum(r['cpu'] for r in rows):.0f} CPU s", "", "| worker | tests | busy s | last end s | CPU s |",
             "|---|---:|---:|---:|---:|"]
    for worker in sorted({r["worker"] for r in rows}):
        mine = [r for r in rows if r["worker"] == worker]
        lines.append(f"| {worker} | {len(mine)} | {sum(r['end'] - r['start'] for r in mine):.0f} | "
                     f"{max(r['end'] for r in mine) - start:.0f} | {sum(r['cpu'] for r in mine):.0f} |")
    lines += ["", "| test | worker | start s | wall s | CPU s |", "|---|---|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: -r["cpu"])[:top]:
        lines.append(f"| {r['test']} | {r['worker']} | {r['start'] - start:.0f} | {r['end'] - r['start']:.0f} | "
                     f"{r['cpu']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))

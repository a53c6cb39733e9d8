"""Exact per-job peak memory and CPU time for benchmarks/scale.py (not used by the workflow itself).

scale.py puts this folder on PYTHONPATH and sets SCALE_RUSAGE_LOG, so every Python process of its
Snakemake runs imports this module at start-up. When a Snakemake ``script:`` job exits, it appends
one JSON line to that file: the rule, its first output, its wall time since interpreter start, and
from the kernel its CPU time (getrusage) and peak resident memory (VmHWM: exact, where Snakemake's
benchmark files sample memory every 30 s after a job's first 15 s). Every other
process (Snakemake itself, tools) writes nothing.
"""

import atexit
import os
import time

_START = time.time()


def _record() -> None:
    import json
    import resource
    import sys

    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if not (hasattr(job, "rule") and hasattr(job, "output")):
        return
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # VmHWM: the peak RSS of this process image since exec. (ru_maxrss would also count the address
    # space of the shell that exec'd it, which shared Snakemake's own memory: a ~265 MB floor.)
    with open("/proc/self/status", encoding="ascii") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    row = {
        "rule": str(job.rule),
        "output": str(job.output[0]) if len(job.output) else "",
        "wall_s": round(time.time() - _START, 3),
        "cpu_s": round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    with open(os.environ["SCALE_RUSAGE_LOG"], "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


if os.environ.get("SCALE_RUSAGE_LOG"):
    atexit.register(_record)

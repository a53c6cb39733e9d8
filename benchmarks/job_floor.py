"""The demo's floor: what its jobs cost before any of them does its work.

Each Snakemake job of a ``script:`` rule is a fresh Python process that starts Python, reads the job
object (``snakemake.script``) and imports its script's modules before it reads one input. This
benchmark dry-runs the demo profile in an empty folder to count its jobs per rule, and for each rule
runs a Python process that does only what the job does before its work: ``import snakemake.script``
and the script's top-level imports (its ``import``/``from`` lines; modules a script imports later,
inside a function, are not counted, so the floor is a lower bound). The CPU seconds of each such
process (user + system, the median of ``--repeats``) times the rule's jobs is the rule's floor;
their sum against the CPU seconds that 2 cores have in 90 s (the issue's goal) says whether one
process per job can meet it.

    python benchmarks/job_floor.py [--profile profiles/demo] [--repeats 3] [--out job-floor.md]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rule_scripts() -> dict[str, Path]:
    """rule name -> its script, from workflow/rules/*.smk."""
    found: dict[str, Path] = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        rule = None
        lines = smk.read_text(encoding="utf-8").splitlines()
        for line, following in zip(lines, lines[1:] + [""]):
            head = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):", line)
            if head:
                rule = head.group(1)
            if rule and line.strip() == "script:":
                found[rule] = (smk.parent / following.strip().strip('"')).resolve()
    return found


def top_level_imports(script: Path) -> str:
    """The script's module-level import statements (those of snakemake's own left out), as one program."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    found = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
             and "snakemake" not in ast.unparse(node)]
    return "\n".join(ast.unparse(node) for node in found)


def cpu_seconds(program: str, env: dict[str, str]) -> float:
    """User + system CPU seconds of one Python process running ``program``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", program], check=True, env=env, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def job_counts(profile: Path) -> dict[str, int]:
    """Jobs per rule of a dry run of ``profile`` in an empty folder (Snakemake's job stats)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(["snakemake", "-s", str(REPO / "Snakefile"), "-d", scratch, "-n", "--cores", "2",
                              "--workflow-profile", str(profile)], check=True, capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    table = out.split("Job stats:", 1)[1]
    for line in table.splitlines():
        row = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if row and row.group(1) not in ("total", "job"):
            counts[row.group(1)] = int(row.group(2))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=REPO / "profiles" / "demo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--goal-seconds", type=float, default=90.0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("job-floor.md"))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), "HF_HUB_OFFLINE": "1"}
    counts = job_counts(args.profile.resolve())
    scripts = rule_scripts()
    bare = statistics.median(cpu_seconds("import snakemake.script", env) for _ in range(args.repeats))
    rows, total = [], 0.0
    for rule, jobs in sorted(counts.items(), key=lambda item: -item[1]):
        if rule not in scripts:
            rows.append(f"| {rule} | {jobs} | (no script) | | |")
            continue
        program = "import snakemake.script\n" + top_level_imports(scripts[rule])
        floor = statistics.median(cpu_seconds(program, env) for _ in range(args.repeats))
        total += floor * jobs
        rows.append(f"| {rule} | {jobs} | {floor:.2f} | {floor * jobs:.1f} | {scripts[rule].name} |")
    budget = args.goal_seconds * args.cores
    lines = ["| rule | jobs | CPU s per job before its work | CPU s, all its jobs | script |",
             "|---|---:|---:|---:|---|", *rows,
             f"| **all** | {sum(counts.values())} | | **{total:.0f}** | |",
             "",
             f"Python with `import snakemake.script` alone: {bare:.2f} CPU s per process. "
             f"{args.goal_seconds:.0f} s on {args.cores} cores hold {budget:.0f} CPU s; "
             f"the jobs' floor is {total:.0f} CPU s ({total / budget:.0%} of it) before any job does its work."]
    text = "\n".join(lines)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

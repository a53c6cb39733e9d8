"""Shared test fixtures: offline Hugging Face, the repository root, and ../shared data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "workflow"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared folder beside the checkout); absent here")
    return path


@pytest.fixture
def repo() -> Path:
    return REPO


def snakemake_command(workdir: Path, *args: str, snakefile: Path | None = None) -> list[str]:
    """The command line that runs this repository's workflow (or ``snakefile``) in ``workdir``."""
    return [sys.executable, "-m", "snakemake", "-s", str(snakefile or REPO / "Snakefile"), "-d", str(workdir), *args]


def run_snakemake(workdir: Path, *args: str, snakefile: Path | None = None, env: dict[str, str] | None = None,
                  cwd: Path | None = None, timeout: int = 3000) -> subprocess.CompletedProcess[str]:
    """Run this repository's workflow (or ``snakefile``, e.g. a copy of it) in ``workdir`` (outputs land in
    ``workdir/results``); ``env`` adds variables to this process's environment."""
    return subprocess.run(
        snakemake_command(workdir, *args, snakefile=snakefile), capture_output=True, text=True, timeout=timeout,
        env=None if env is None else {**os.environ, **env}, cwd=cwd,
    )


def tails(result: subprocess.CompletedProcess[str]) -> str:
    """The ends of a run's stdout and stderr, for an assertion message."""
    return f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-5000:]}"


# --- what a run would do: Snakemake's documented --summary, not its log ------------------------------
# `snakemake --summary` prints one row per output file of the DAG (columns output_file, date, rule,
# log-file(s), status, plan); plan is "update pending" for every output of a job the run would (re)run.
# It honours --config, --configfile, --forcerun and code or params changes as a dry run does. A rule
# with no output file (rule all) has no row.
SUMMARY_COLUMNS = ["output_file", "date", "rule", "log-file(s)", "status", "plan"]
PENDING = "update pending"


def pending_outputs(summary: str) -> set[tuple[str, str]]:
    """{(rule, output_file)} of the outputs that ``--summary`` text marks "update pending"."""
    lines = summary.splitlines()
    header = "\t".join(SUMMARY_COLUMNS)
    assert header in lines, f"no --summary table (header {header!r}) in:\n{summary[-3000:]}"
    pending = set()
    for line in lines[lines.index(header) + 1:]:
        row = dict(zip(SUMMARY_COLUMNS, line.split("\t")))
        assert len(row) == len(SUMMARY_COLUMNS) == line.count("\t") + 1, f"not a --summary row: {line!r}"
        assert row["plan"] in (PENDING, "no update"), f"unknown plan in {line!r}"
        if row["plan"] == PENDING:
            pending.add((row["rule"], row["output_file"]))
    return pending


def planned_outputs(workdir: Path, *args: str, snakefile: Path | None = None,
                    timeout: int = 600) -> set[tuple[str, str]]:
    """{(rule, output_file)} that a run with these arguments would (re)make in ``workdir``."""
    result = run_snakemake(workdir, "--summary", *args, snakefile=snakefile, timeout=timeout)
    assert result.returncode == 0, f"snakemake --summary {' '.join(args)} failed\n{tails(result)}"
    return pending_outputs(result.stdout)


def _job_patterns() -> dict[str, tuple[str, ...]]:
    """Per rule with outputs: patterns (speech_emotion.layout) that each of its output files is, or lies
    under; their wildcards are the job's. Every rule but `all` is listed (test_planned_jobs checks it)."""
    from speech_emotion import layout as L

    plot_of_encoder = (f"{L.PLOTS}/{{encoder}}",)
    pair = (L.CROSS_PAIR,)
    return {
        "demo_corpus": ("results/demo",),  # DEMO_DIR, rules/common.smk
        "download_cremad": ("resources/cremad",),  # CREMAD_DOWNLOAD_DIR, rules/common.smk
        "check_clips": (L.SHARD_TABLE,),
        "manifest": (L.MANIFEST_OF, L.REJECTED_OF),
        "folds": (L.FOLDS,),
        "download_model": ("resources/models/{encoder}",),  # MODELS_DIR, rules/inputs/embed.smk
        "init_model": ("resources/models/{encoder}",),
        "augment": (L.AUDIO.replace("{variant}", "aug{n}"),),
        "embed": (L.EMBEDDINGS,),
        "plan": (L.PLAN,),
        "layer_probe_table": (L.LAYER_PROBE_TABLE,),
        "tune": (L.FOLD,),
        "train": (L.FOLD,),
        "final_model": (L.MODEL,),
        "aggregate": (L.METRICS,),
        "classifier_figures": (L.CLASSIFIER,),
        "summary": (L.SUMMARY,),
        "leaderboard": (L.LEADERBOARD,),
        "plot_comparison": (L.PLOTS,),
        "plot_fold_scores": plot_of_encoder,
        "plot_umap": plot_of_encoder,
        "plot_layer_probe": plot_of_encoder,
        "clip_levels": (L.CLIP_LEVELS,),
        "explain": (L.IMPORTANCE, L.NUISANCE, f"{L.CLASSIFIER}/importance.png"),
        "explain_summary": (L.EXPLAIN_IMPORTANCE, L.EXPLAIN_NUISANCE, L.EXPLANATIONS),
        "cross_plan": (L.CROSS_PLAN,),
        "cross_train": (L.CROSS_MODEL,),
        "cross_predict": pair,
        "cross_aggregate": pair,
        "cross_figures": pair,
    }


JOB_PATTERNS = _job_patterns()
WILDCARD_REGEX = {"corpus_dir": r"(?:corpora/[^/]+/)?"}  # "" for the primary corpus (layout.py)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """The pattern as a regex that matches a path equal to it or under it (its wildcards named groups)."""
    parts = re.split(r"\{(\w+)\}", pattern)
    body = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{WILDCARD_REGEX.get(part, '[^/]+')})"
                   for i, part in enumerate(parts))
    return re.compile(body + "(?:/.+)?")


def job(rule: str, **wildcards: str) -> str:
    """A job as `rule[key=value,...]` (wildcards sorted), the form planned_jobs returns; a rule whose
    outputs have a corpus_dir wildcard gets corpus_dir="" (the primary corpus) unless given."""
    if any("{corpus_dir}" in p for p in JOB_PATTERNS.get(rule, ())):
        wildcards.setdefault("corpus_dir", "")
    inner = ",".join(f"{k}={v}" for k, v in sorted(wildcards.items()))
    return f"{rule}[{inner}]" if inner else rule


def job_of(rule: str, output: str) -> str:
    """The job (job() form) that makes ``output``, from the wildcards of the rule's pattern it matches."""
    assert rule in JOB_PATTERNS, f"rule {rule!r} has no output pattern in conftest.JOB_PATTERNS"
    for pattern in JOB_PATTERNS[rule]:
        match = _pattern_regex(pattern).fullmatch(output)
        if match:
            return job(rule, **match.groupdict())
    raise AssertionError(f"{output} (rule {rule}) matches none of {JOB_PATTERNS[rule]}")


def jobs_of(outputs: set[tuple[str, str]]) -> set[str]:
    """The jobs (job() form) that make these (rule, output_file) pairs."""
    return {job_of(rule, output) for rule, output in outputs}


def planned_jobs(workdir: Path, *args: str, snakefile: Path | None = None, timeout: int = 600) -> set[str]:
    """The jobs (job() form) a run with these arguments would (re)run in ``workdir``; set() for nothing to do."""
    return jobs_of(planned_outputs(workdir, *args, snakefile=snakefile, timeout=timeout))


def job_counts(jobs: set[str]) -> dict[str, int]:
    """How many of these jobs each rule has (what Snakemake's "Job stats" table counts, less rule all)."""
    counts: dict[str, int] = {}
    for name in jobs:
        rule = name.split("[", 1)[0]
        counts[rule] = counts.get(rule, 0) + 1
    return counts


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One complete run of the demo profile, shared by every test that needs its outputs.

    Tests must not modify it; copy it (shutil.copytree) to change anything.
    """
    workdir = tmp_path_factory.mktemp("demo-run")
    result = run_snakemake(workdir, "--cores", "2", "--workflow-profile", str(REPO / "profiles" / "demo"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return workdir

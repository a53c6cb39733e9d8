"""Shared test fixtures: offline Hugging Face, the repository root, and ../shared data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
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
        "target_values": (L.TARGET_VALUES,),
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
        "regress_plan": (L.REGRESSION_PLAN,),
        "regress": (L.REGRESSION_FOLD,),
        "regress_tune": (L.REGRESSION_FOLD,),  # study.sqlite3 and tuned.json beside the fold's regress outputs
        "regress_aggregate": (L.REGRESSION_METRICS,),
        "regress_summary": (L.REGRESSION_SUMMARY,),
        "regress_model": (L.REGRESSION_MODEL,),
        "regress_figures": (L.REGRESSION_SCATTER, L.REGRESSION_RESIDUALS),
        "regress_leaderboard": (L.REGRESSION_LEADERBOARD,),
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


# --- whole-workflow runs shared by the tests ------------------------------------------------------
# The suite runs in parallel (pytest-xdist, README's test command): each worker is its own pytest
# session, so a session fixture alone would run the workflow once per worker. A shared run is made once
# per test session under a file lock, in the folder all workers share, and read by every worker; a run
# that failed fails every test that needs it, with the first failure's message.
DEMO = ("--cores", "2", "--workflow-profile", str(REPO / "profiles" / "demo"))
# Set to a folder to keep the shared runs there and reuse them in later sessions (a quicker loop while
# working on tests that read them; delete the folder after changing the workflow). CI never sets it.
KEEP_RUNS = "SPEECH_EMOTION_TEST_RUNS"


def shared_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder of a run that ``make(workdir)`` made once for the whole test session."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # xdist: the workers' temporary folders share the session's parent
        root = root.parent
    if os.environ.get(KEEP_RUNS):  # a developer's folder of runs kept across sessions (made by this code or not)
        root = Path(os.environ[KEEP_RUNS]).resolve()
        root.mkdir(parents=True, exist_ok=True)
    workdir, failed = root / name, root / f"{name}.failed"
    with FileLock(str(root / f"{name}.lock")):
        if failed.exists():
            pytest.fail(f"the shared run {name} failed in another worker:\n{failed.read_text()}")
        if not (root / f"{name}.done").exists():
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir()
            try:
                make(workdir)
            except BaseException as exc:
                failed.write_text(str(exc))
                raise
            (root / f"{name}.done").touch()
    return workdir


def copy_run(source: Path, target: Path, *skip: str) -> Path:
    """A copy of a finished run, .snakemake metadata and mtimes included (copytree uses copy2), less
    Snakemake's locks and the folders ``skip`` names (paths relative to the run, e.g. ``results/cv``:
    a bare name would also match resources/models or .snakemake's own folders)."""
    skipped = {os.path.abspath(source / path) for path in (".snakemake/locks", ".snakemake/incomplete", *skip)}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if os.path.abspath(os.path.join(folder, name)) in skipped}

    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True, ignore=ignore)
    return target


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One complete run of the demo profile, shared by every test that needs its outputs.

    Tests must not modify it; copy it (copy_run) to change anything.
    """
    def make(workdir: Path) -> None:
        result = run_snakemake(workdir, *DEMO)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]

    return shared_run(tmp_path_factory, "demo-run", make)


# The extended run: the demo run plus what the separate runs of emotion2vec, fusion and the parity
# checks needed, in one run on a copy of it: a tiny emotion2vec encoder, the fusion of the demo's two
# encoders, per-speaker standardisation forced on (features.speaker_norm: on), a cross pair main -> copy
# (a second corpus that is a copy of the demo clips), logistic regression only.
EXTENDED_ENCODERS = ["tiny-wavlm", "egemaps", "fused"]  # the fusion's members in the config's order
EXTENDED_LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
def extended_config() -> dict:
    """The extended run's config, merged over the demo's; the copy corpus is the folder ``copy`` of the
    run (a relative path: a copy of the run, folder and all, has its own)."""
    return {
        "encoders": {"fused": {"kind": "fusion", "members": ["tiny-wavlm", "egemaps"]},
                     "tiny-emotion2vec": {"kind": "emotion2vec", "model": "tiny-emotion2vec",
                                          "init_config": "resources/tiny-emotion2vec/config.yaml", "gpu": 0}},
        "features": {"speaker_norm": "on"},
        "corpora": {"copy": {"kind": "cremad", "source": "copy"}},
        "cross": [{"train": "main", "test": "copy"}],
        "label_map": {label: label for label in EXTENDED_LABELS},
        "run": {"encoders": [*EXTENDED_ENCODERS, "tiny-emotion2vec"], "classifiers": ["logreg"]},
    }


EXTENDED_TARGETS = [f"results/{path}" for encoder in EXTENDED_ENCODERS for path in (
    f"models/{encoder}/logreg/model.json", f"cv/{encoder}/logreg/metrics.json", f"cv/{encoder}/logreg/fold-0/predictions.tsv",
    f"cross/main__copy/{encoder}/logreg/predictions.tsv")] + [
    "results/models/tiny-emotion2vec/logreg/MODEL_CARD.md", "results/cv/tiny-emotion2vec/logreg/metrics.json",
    "results/plots/tiny-emotion2vec/layer_probe.png"]


def extended_args(workdir: Path, config: dict) -> tuple[str, ...]:
    """The command-line arguments of a run with the demo profile and ``config`` merged over its config
    (written to workdir/extended.yaml); --configfile replaces the profile's configfile, so both are named."""
    (workdir / "extended.yaml").write_text(json.dumps(config))
    return (*DEMO, "--configfile", str(REPO / "profiles/demo/demo-config.yaml"), str(workdir / "extended.yaml"))


@pytest.fixture(scope="session")
def extended_run(demo_run, tmp_path_factory) -> Path:
    """The demo run's copy with extended_config's targets made (shared; never modify it). The jobs the run
    planned before it started are in ``planned.json`` (conftest.planned_jobs form)."""
    def make(workdir: Path) -> None:
        copy_run(demo_run, workdir)
        shutil.copytree(workdir / "results/demo/AudioWAV", workdir / "copy")
        args = extended_args(workdir, extended_config())
        (workdir / "planned.json").write_text(json.dumps(sorted(planned_jobs(workdir, *EXTENDED_TARGETS, *args))))
        result = run_snakemake(workdir, *EXTENDED_TARGETS, *args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]

    return shared_run(tmp_path_factory, "extended-run", make)

"""conftest's reading of `snakemake --summary` (planned_outputs, planned_jobs): what a run would do, as
the jobs that tests compare with exact expected sets."""

from __future__ import annotations

import pytest

from conftest import JOB_PATTERNS, REPO, job, job_counts, jobs_of, pending_outputs, planned_jobs, run_snakemake, tails

HEADER = "output_file\tdate\trule\tlog-file(s)\tstatus\tplan"
DONE = "Sun Dec  6 07:51:43 2026"
ROWS = [  # (output_file, rule, plan)
    ("results/demo/AudioWAV", "demo_corpus", "no update"),
    ("results/data/shards/shard-1.tsv", "check_clips", "update pending"),
    ("results/data/manifest.tsv", "manifest", "update pending"),
    ("results/data/rejected.tsv", "manifest", "update pending"),
    ("results/data/folds.tsv", "folds", "update pending"),
    ("results/audio/aug2/shard-0.npz", "augment", "update pending"),
    ("results/corpora/cremad/embeddings/egemaps/clean/shard-0.npz", "embed", "update pending"),
    ("results/embeddings/egemaps/clean/shard-0.npz", "embed", "no update"),
    ("results/cv/egemaps/plans/fold-0.json", "plan", "no update"),
    ("results/cv/egemaps/logreg/fold-0/model.zip", "train", "no update"),
    *[(f"results/cv/tiny-wavlm/svm/fold-all/{name}", "train", "update pending")
      for name in ("model.zip", "features.json", "model.json", "record.json", "predictions.tsv")],
    ("results/plots/egemaps/umap.png", "plot_umap", "update pending"),
    ("results/plots/comparison.png", "plot_comparison", "update pending"),
    ("results/summary.tsv", "summary", "update pending"),
    ("results/cross/urdu__cremad/egemaps/logreg/metrics.json", "cross_aggregate", "update pending"),
]
EXPECTED = {
    job("check_clips", shard="1"),
    job("manifest"),
    "folds",
    job("augment", n="2", shard="0"),
    job("embed", corpus_dir="corpora/cremad/", encoder="egemaps", variant="clean", shard="0"),
    job("train", encoder="tiny-wavlm", classifier="svm", fold="all"),
    job("plot_umap", encoder="egemaps"),
    "plot_comparison",
    "summary",
    job("cross_aggregate", train="urdu", test="cremad", encoder="egemaps", classifier="logreg"),
}


def summary_text(rows) -> str:
    """A --summary table as Snakemake prints it to stdout (a line of other output before it)."""
    lines = [f"{out}\t{DONE if plan == 'no update' else '-'}\t{rule}\t-\tok\t{plan}" for out, rule, plan in rows]
    return "\n".join(["Config file config.yaml is extended by additional config", HEADER, *lines]) + "\n"


def test_a_summary_gives_the_jobs_of_its_pending_outputs():
    pending = pending_outputs(summary_text(ROWS))
    assert len(pending) == len([r for r in ROWS if r[2] == "update pending"])
    assert jobs_of(pending) == EXPECTED
    assert job("manifest") == "manifest[corpus_dir=]" and job("summary") == "summary"
    assert job_counts(EXPECTED)["embed"] == 1 and sum(job_counts(EXPECTED).values()) == len(EXPECTED)


def test_a_wrong_summary_gives_another_job_set_or_fails():
    # one more output to update: one more job, so an exact comparison with EXPECTED fails
    rerun = [(out, rule, "update pending" if rule == "plan" else plan) for out, rule, plan in ROWS]
    assert jobs_of(pending_outputs(summary_text(rerun))) == EXPECTED | {job("plan", encoder="egemaps", fold="0")}
    with pytest.raises(AssertionError, match="matches none of"):
        jobs_of(pending_outputs(summary_text([("results/cv/egemaps/logreg/metrics.json", "plan", "update pending")])))
    with pytest.raises(AssertionError, match="no output pattern"):
        jobs_of(pending_outputs(summary_text([("results/x.tsv", "new_rule", "update pending")])))
    with pytest.raises(AssertionError, match="no --summary table"):
        pending_outputs("Building DAG of jobs...\nJob stats:\njob    count\n")
    with pytest.raises(AssertionError, match="not a --summary row"):
        pending_outputs(HEADER + "\nresults/summary.tsv\t-\tsummary\tupdate pending\n")


def test_every_rule_with_outputs_has_its_output_patterns(tmp_path):
    listed = run_snakemake(tmp_path, "--list-rules", timeout=300)
    assert listed.returncode == 0, tails(listed)
    assert set(JOB_PATTERNS) == set(listed.stdout.split()) - {"all"}


def test_the_demo_plan_from_nothing_maps_every_output_to_its_job(tmp_path):
    """Demo profile, empty working directory: every output of the DAG belongs to a job of the demo's size."""
    jobs = planned_jobs(tmp_path, "--cores", "2", "--workflow-profile", str(REPO / "profiles" / "demo"))
    counts = job_counts(jobs)
    # 2 encoders x 5 classifiers x (3 folds + the final model's), 2 encoders x 2 variants x 2 shards
    assert (counts["train"], counts["plan"], counts["embed"], counts["manifest"]) == (40, 8, 8, 1), counts
    # the arousal target: ridge on 2 encoders x (3 folds + the final regressor's), each fold's regression plan
    assert (counts["regress"], counts["regress_plan"], counts["target_values"]) == (8, 8, 1), counts

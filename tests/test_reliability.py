"""Reliability of the whole workflow (issue 8): interruption, corrupt caches, bad input,
determinism across working directories, and reruns of only the stale steps.

Every test here reuses the session's complete demo run (``demo_run``), copied before anything is
changed, and runs only reduced target sets, dry runs (``-n``) or plans (``--summary`` through
conftest.planned_jobs: the jobs a run would do) on top of it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import DEMO, REPO, copy_run, job, planned_jobs, run_snakemake, snakemake_command
from speech_emotion.io.files import find_corrupt
from speech_emotion.io.audio_store import read_audio_shard
from speech_emotion.embed.embeddings import load_shard
from speech_emotion.embed.shards import shard_of

ENCODERS = ("tiny-wavlm", "egemaps")  # profiles/demo/demo-config.yaml
CLASSIFIERS = ("logreg", "svm", "xgboost", "mlp", "ensemble")
FOLDS = ("0", "1", "2", "all")  # three CV folds + the final model's fold
SHARDS = ("0", "1")
TARGET, REGRESSORS = "arousal", ("ridge",)  # the demo's continuous target and its regressors


# --- helpers --------------------------------------------------------------------------------------
def downstream_of_predictions(encoder: str, classifiers: tuple[str, ...]) -> set[str]:
    """What a new predictions.tsv of (encoder, classifier) reruns: its metrics, figures, final model and
    explanations, the encoder's fold-score plot, the summary, the leaderboard, the comparison plot and the
    run's explanations (and rule `all`, which has no output file: --summary, which planned_jobs reads,
    lists output files)."""
    jobs = {job("plot_fold_scores", encoder=encoder), "summary", "leaderboard", "plot_comparison", "explain_summary"}
    for c in classifiers:
        jobs |= {job(rule, encoder=encoder, classifier=c)
                 for rule in ("aggregate", "classifier_figures", "final_model", "explain")}
    return jobs


def train_jobs(encoder: str, classifiers: tuple[str, ...], folds: tuple[str, ...] = FOLDS) -> set[str]:
    return {job("train", encoder=encoder, classifier=c, fold=f) for c in classifiers for f in folds}


def regression_jobs(encoder: str) -> set[str]:
    """What new clean embeddings (or folds) of ``encoder`` rerun of the demo's regression (the arousal target,
    ridge): its plans and folds, metrics, figures and final regressor, and the regression summary and leaderboard."""
    jobs = {job("regress_plan", target=TARGET, encoder=encoder, fold=f) for f in FOLDS}
    jobs |= {job("regress", target=TARGET, encoder=encoder, regressor=r, fold=f) for r in REGRESSORS for f in FOLDS}
    jobs |= {job(rule, target=TARGET, encoder=encoder, regressor=r) for r in REGRESSORS
             for rule in ("regress_aggregate", "regress_figures", "regress_model")}
    return jobs | {"regress_summary", "regress_leaderboard"}


def explain(got: set[str], expected: set[str]) -> str:
    return f"unexpected: {sorted(got - expected)}\nmissing: {sorted(expected - got)}"


@pytest.fixture(scope="module")
def stale(demo_run, tmp_path_factory) -> Path:
    """A copy of the demo run for plans and dry runs only (they change no output)."""
    return copy_run(demo_run, tmp_path_factory.mktemp("stale") / "run")


# --- 1 + 4: SIGKILL in the embed stage, rerun; same bytes in another working directory --------------
REDUCED = [f"results/cv/egemaps/logreg/fold-{k}/predictions.tsv" for k in range(3)] + [
    "results/cv/egemaps/logreg/metrics.json"
]


def _start(workdir: Path, log: Path, *args: str) -> subprocess.Popen:
    """Snakemake in its own process group (so that one killpg reaches every job it started)."""
    return subprocess.Popen(snakemake_command(workdir, *args), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.slow
def test_sigkill_during_embed_then_rerun_equals_uninterrupted_run(demo_run, tmp_path):
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    log = tmp_path / "killed.log"
    embeddings = [f"results/embeddings/egemaps/{v}/shard-{s}.npz" for v in ("clean", "aug1") for s in SHARDS]
    process = _start(workdir, log, *REDUCED, *DEMO)
    try:
        deadline = time.monotonic() + 900
        started = None
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text()
            if started is None and re.search(r"^(?:local)?rule embed:", text, flags=re.MULTILINE):
                started = time.monotonic()
            if started is not None and time.monotonic() - started > 2.0:
                break
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before an embed job was seen:\n" + log.read_text()[-3000:]
        assert started is not None, "no embed job within 15 minutes:\n" + log.read_text()[-3000:]
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    missing = [p for p in embeddings if not (workdir / p).exists()]
    assert missing, "killed too late: every embedding shard was already written"
    # Atomic writes: what exists under a final name is complete (only .tmp-* leftovers may be partial).
    assert find_corrupt([workdir / "results"]) == []
    for path in embeddings:
        if (workdir / path).exists():
            load_shard(workdir / path)  # opens, and its checksum matches
    assert not (workdir / "results/cv").exists()

    # A SIGKILLed Snakemake leaves its lock behind (it says so and names --unlock); then rerun.
    unlock = run_snakemake(workdir, *REDUCED, *DEMO, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = run_snakemake(workdir, *REDUCED, *DEMO, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-6000:]
    assert "Corrupt cached file" not in rerun.stderr + rerun.stdout  # nothing truncated was left to read
    assert all((workdir / p).exists() for p in embeddings)

    # Same bytes as the uninterrupted demo run in another working directory (item 4).
    for target in REDUCED:
        ours, theirs = (workdir / target).read_bytes(), (demo_run / target).read_bytes()
        assert ours == theirs, f"{target} differs from the uninterrupted run"
        text = ours.decode("utf-8")
        for absolute in (str(workdir), str(demo_run), str(tmp_path), str(REPO), "/tmp/", os.path.expanduser("~")):
            assert absolute not in text, f"{target} holds an absolute path ({absolute})"
        assert not re.search(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", text), f"{target} holds a timestamp"
    metrics = (workdir / REDUCED[-1]).read_text()
    assert '"balanced_accuracy"' in metrics and '"f1_macro"' in metrics


@pytest.mark.slow
def test_results_do_not_depend_on_cores_or_threads(demo_run, tmp_path):
    """The demo ran with one thread per job (train.threads, embed.threads: 1). Its tiny-wavlm
    embeddings and every tiny-wavlm model made again with 2 threads per job and 2 cores give the same
    numbers: the same embeddings, byte-identical predictions.tsv and metrics.json."""
    workdir = copy_run(demo_run, tmp_path / "run")
    for folder in ("embeddings", "cv"):  # (a missing intermediate alone would not be rebuilt)
        shutil.rmtree(workdir / "results" / folder / "tiny-wavlm")
    # only what is compared below: the embeddings, the three CV folds and metrics (no final models,
    # figures or explanations, which read these and hold no other threaded computation)
    targets = [f"results/embeddings/tiny-wavlm/{v}/shard-{s}.npz" for v in ("clean", "aug1") for s in SHARDS] + [
        f"results/cv/tiny-wavlm/{c}/metrics.json" for c in CLASSIFIERS]
    result = run_snakemake(workdir, *targets, *DEMO, "--config", 'train={"threads": 2}', 'embed={"threads": 2}')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert re.search(r"threads: 2", result.stdout + result.stderr), "the jobs did not get 2 threads"
    for variant in ("clean", "aug1"):
        for s in SHARDS:
            path = f"results/embeddings/tiny-wavlm/{variant}/shard-{s}.npz"
            mine, theirs = load_shard(workdir / path), load_shard(demo_run / path)
            np.testing.assert_array_equal(mine.embeddings, theirs.embeddings, err_msg=path)
    for classifier in CLASSIFIERS:
        base = f"results/cv/tiny-wavlm/{classifier}"
        for target in [f"{base}/fold-{k}/predictions.tsv" for k in range(3)] + [f"{base}/metrics.json"]:
            assert (workdir / target).read_bytes() == (demo_run / target).read_bytes(), f"{target} differs"


@pytest.mark.slow
def test_other_seed_other_folds(demo_run, tmp_path):
    """seed 43 (demo corpus, folds): the same clips, speakers and labels, but other folds."""
    result = run_snakemake(tmp_path, "results/data/folds.tsv", *DEMO, "--config", "seed=43")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    columns = ["clip_id", "speaker", "label"]
    mine = pd.read_csv(tmp_path / "results/data/manifest.tsv", sep="\t", dtype=str)
    theirs = pd.read_csv(demo_run / "results/data/manifest.tsv", sep="\t", dtype=str)
    assert mine[columns].equals(theirs[columns])
    folds43 = pd.read_csv(tmp_path / "results/data/folds.tsv", sep="\t", dtype=str).set_index("clip_id")["fold"]
    folds42 = pd.read_csv(demo_run / "results/data/folds.tsv", sep="\t", dtype=str).set_index("clip_id")["fold"]
    assert set(folds43.index) == set(folds42.index)
    assert not folds43.equals(folds42.loc[folds43.index])
    speakers = mine.set_index("clip_id")["speaker"]
    assert (pd.DataFrame({"s": speakers, "f": folds43}).groupby("s")["f"].nunique() == 1).all()  # speaker-disjoint


# --- 2: a truncated embedding shard and model file are found, named and rebuilt ---------------------
def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_truncated_shard_and_model_are_named_and_rebuilt(demo_run, tmp_path):
    """A truncated cached archive is named at start-up with the command that rebuilds it; a dry run
    changes nothing on disk (parse time only reads); `snakemake --forcerun FILE` plans (--summary) and then
    rebuilds exactly that file and what reads it."""
    workdir = copy_run(demo_run, tmp_path / "run")
    shard = "results/embeddings/tiny-wavlm/clean/shard-1.npz"
    model = "results/cv/egemaps/svm/fold-1/model.zip"
    for path in (workdir / shard, workdir / model):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    before = snapshot(workdir / "results")
    dry = run_snakemake(workdir, "-n", *DEMO)
    assert snapshot(workdir / "results") == before, "a dry run changes nothing on disk"
    text = dry.stdout + dry.stderr
    for path in (shard, model):
        assert re.search(rf"Corrupt cached file {re.escape(path)}: not a complete archive .*"
                         rf"snakemake --forcerun {re.escape(path)}", text), text[-3000:]
    expected = (
        {job("embed", encoder="tiny-wavlm", variant="clean", shard="1")}
        # the probe and UMAP read the clean shards; every tiny-wavlm classifier reads all shards
        | {job("plan", encoder="tiny-wavlm", fold=f) for f in FOLDS}
        | {job(r, encoder="tiny-wavlm") for r in ("layer_probe_table", "plot_layer_probe", "plot_umap")}
        | train_jobs("tiny-wavlm", CLASSIFIERS)
        | downstream_of_predictions("tiny-wavlm", CLASSIFIERS)
        | regression_jobs("tiny-wavlm")  # the regressors read the clean shards
        # egemaps: svm's fold 1 and the ensemble of that fold (svm is a member)
        | train_jobs("egemaps", ("svm", "ensemble"), ("1",))
        | downstream_of_predictions("egemaps", ("svm", "ensemble"))
    )
    got = planned_jobs(workdir, "--forcerun", shard, model, *DEMO)
    assert got == expected, explain(got, expected)
    assert snapshot(workdir / "results") == before
    # the rebuild of the two files alone
    rebuilt = run_snakemake(workdir, shard, model, "--forcerun", shard, model, *DEMO)
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-5000:]
    assert find_corrupt([workdir / "results"]) == []
    np.testing.assert_array_equal(load_shard(workdir / shard).embeddings, load_shard(demo_run / shard).embeddings)
    assert planned_jobs(workdir, *DEMO) == set()  # the rebuilt files are what the run had read


# --- 3: bad input through the whole DAG; manifest rows with problems ---------------------------------
RATE = 16000
BAD = {  # file stem -> the reason rejected.tsv gives (regex)
    "s1_empty": "empty file",
    "s2_truncated": "truncated file",
    "s3_text": "not audio",
    "s4_nan": "NaN",
    "s5_silent": "silent",
    "s6_short": "too short",
}


def _voice(seconds: float, rate: int, label: int, seed: int) -> np.ndarray:
    """A tone whose pitch and loudness depend on the label, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = (140.0, 260.0)[label] * (1 + 0.03 * rng.standard_normal())
    amp = (0.15, 0.45)[label]
    wave = amp * (np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(4 * np.pi * f0 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def make_bad_corpus(root: Path) -> None:
    """<root>/{calm,loud}/s<speaker>_<name>.wav: 6 speakers x 2 labels x 2 good clips, one 8 kHz
    stereo and one 48 kHz 24-bit clip (both usable), and one clip of each broken kind."""
    labels = ("calm", "loud")
    for li, label in enumerate(labels):
        (root / label).mkdir(parents=True)
        for s in range(1, 7):
            for k in range(2):
                sf.write(root / label / f"s{s}_ok{k}.wav", _voice(0.8, RATE, li, 100 * s + 10 * li + k), RATE,
                         subtype="PCM_16")
    stereo = np.stack([_voice(0.8, 8000, 0, 1), _voice(0.8, 8000, 0, 2)], axis=1)
    sf.write(root / "calm" / "s1_stereo8k.wav", stereo, 8000, subtype="PCM_16")
    sf.write(root / "loud" / "s2_hires48k.wav", _voice(0.8, 48000, 1, 3), 48000, subtype="PCM_24")
    whole = (root / "calm" / "s1_ok0.wav").read_bytes()
    (root / "calm" / "s1_empty.wav").write_bytes(b"")
    (root / "loud" / "s2_truncated.wav").write_bytes(whole[: len(whole) // 2])
    (root / "calm" / "s3_text.wav").write_text("not a wave file\n" * 50)
    nan = _voice(0.8, RATE, 1, 4)
    nan[1000] = np.nan
    sf.write(root / "loud" / "s4_nan.wav", nan, RATE, subtype="FLOAT")
    sf.write(root / "calm" / "s5_silent.wav", np.zeros(RATE, dtype=np.float32), RATE, subtype="PCM_16")
    sf.write(root / "loud" / "s6_short.wav", _voice(0.05, RATE, 1, 5), RATE, subtype="PCM_16")


@pytest.mark.slow
def test_bad_input_end_to_end(tmp_path):
    make_bad_corpus(tmp_path / "corpus")
    (tmp_path / "config.yaml").write_text(
        "dataset: {kind: folder, root: corpus, speaker_regex: '^(s\\d+)_'}\n"
        "audio: {max_rejected_fraction: 0.3}\n"
        "cv: {folds: 2}\naugment: {copies: 1}\nembed: {shards: 2}\n"
        "run: {encoders: [egemaps], classifiers: [logreg]}\n"
        "classifiers: {logreg: {Cs: [0.1, 1.0]}}\n"
        "train: {threads: 1}\n"
    )
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(tmp_path / "config.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]

    rejected = pd.read_csv(tmp_path / "results/data/rejected.tsv", sep="\t", dtype=str, keep_default_na=False)
    reasons = dict(zip(rejected["clip_id"].str.split("/").str[1], rejected["reason"]))
    assert set(reasons) == set(BAD), reasons
    for stem, pattern in BAD.items():
        assert re.search(pattern, reasons[stem]), (stem, reasons[stem])
    assert rejected["path"].str.startswith("corpus/").all()

    manifest = pd.read_csv(tmp_path / "results/data/manifest.tsv", sep="\t", dtype=str).set_index("clip_id")
    good = {f"{label}/s{s}_ok{k}" for label in ("calm", "loud") for s in range(1, 7) for k in range(2)}
    convertible = {"calm/s1_stereo8k": ("8000", "2"), "loud/s2_hires48k": ("48000", "1")}
    assert set(manifest.index) == good | set(convertible)  # nothing else lost
    for clip_id, (rate, channels) in convertible.items():
        assert (manifest.loc[clip_id, "sample_rate"], manifest.loc[clip_id, "channels"]) == (rate, channels)

    predicted = pd.concat(
        pd.read_csv(p, sep="\t", dtype=str) for p in sorted((tmp_path / "results/cv/egemaps/logreg").glob("fold-[0-9]/predictions.tsv"))
    )
    assert sorted(predicted["clip_id"]) == sorted(manifest.index)  # every clip, once, converted ones included
    clean_ids = set()
    for s in SHARDS:
        clean_ids |= set(load_shard(tmp_path / f"results/embeddings/egemaps/clean/shard-{s}.npz").clip_ids)
    assert clean_ids == set(manifest.index)
    assert (tmp_path / "results/models/egemaps/logreg/model.zip").is_file()
    assert (tmp_path / "results/summary.tsv").is_file()


MANIFEST_ROWS = ["a/c0.wav,happy,s1", "a/c1.wav,sad,s1", "a/c2.wav,happy,s2", "a/c3.wav,sad,s2"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "row, problem",
    [
        ("a/missing.wav,sad,s2", "audio file 'a/missing.wav' does not exist"),
        ("a/c1.wav,sad,s2", "duplicate clip id 'a/c1' (first on line 3)"),
        ("a/c4.wav,,s2", "empty label"),
        ("a/c4.wav,sad,s9", "speaker 's9' has only this one clip"),
    ],
)
def test_manifest_row_problems_stop_the_workflow_naming_the_row(tmp_path, row, problem):
    (tmp_path / "db" / "a").mkdir(parents=True)
    for i in range(5):
        sf.write(tmp_path / "db" / "a" / f"c{i}.wav", _voice(0.5, RATE, i % 2, i), RATE)
    (tmp_path / "db" / "list.csv").write_text("path,label,speaker\n" + "\n".join([*MANIFEST_ROWS, row]) + "\n")
    (tmp_path / "config.yaml").write_text("dataset: {kind: manifest, manifest: db/list.csv}\n")
    result = run_snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(tmp_path / "config.yaml"))
    assert result.returncode != 0
    assert f"db/list.csv, line 6: {problem}" in result.stdout + result.stderr, result.stderr[-3000:]


# --- 5: only stale steps rerun (plans on a copy of the demo run) -------------------------------------
@pytest.mark.slow
def test_nothing_changed_nothing_to_do(stale):
    assert planned_jobs(stale, *DEMO) == set()


@pytest.mark.slow
def test_classifier_parameter_reruns_only_its_jobs(stale):
    got = planned_jobs(stale, *DEMO, "--config", 'classifiers={"svm":{"C":3.0}}')
    expected = set()
    for encoder in ENCODERS:  # svm's folds, the ensemble (svm is a member), and what reads their predictions
        expected |= train_jobs(encoder, ("svm", "ensemble")) | downstream_of_predictions(encoder, ("svm", "ensemble"))
    assert got == expected, explain(got, expected)


@pytest.mark.slow
def test_download_settings_rerun_nothing(stale):
    """dataset.download.* only decide how the corpus is fetched (before: 90 jobs from the manifest on)."""
    assert planned_jobs(stale, *DEMO, "--config", 'dataset={"download":{"retries":9,"jobs":2}}') == set()


@pytest.mark.slow
def test_one_more_augmented_copy_reruns_only_its_audio_and_embeddings(stale):
    got = planned_jobs(stale, *DEMO, "--config", 'augment={"copies":2}')
    expected = {job("augment", n="2", shard=s) for s in SHARDS}
    for encoder in ENCODERS:  # the probes ask again whether copies help (UMAP reads their layer choice); classifiers train on them
        expected |= {job("embed", encoder=encoder, variant="aug2", shard=s) for s in SHARDS}
        expected |= {job("plan", encoder=encoder, fold=f) for f in FOLDS}
        expected |= {job("layer_probe_table", encoder=encoder), job("plot_umap", encoder=encoder)}
        expected |= train_jobs(encoder, CLASSIFIERS) | downstream_of_predictions(encoder, CLASSIFIERS)
    expected.add(job("plot_layer_probe", encoder="tiny-wavlm"))
    assert got == expected, explain(got, expected)
    # the existing copy holds every training-corpus clip once, split over the shards
    manifest = pd.read_csv(stale / "results/data/manifest.tsv", sep="\t", dtype=str)
    copied = [c for s in SHARDS for c in read_audio_shard(stale / f"results/audio/aug1/shard-{s}.npz")[0]]
    assert sorted(copied) == sorted(manifest["clip_id"])
    # copies: 0 disables the stage: no aug1 exists (and rule all lists no augment output)
    off = run_snakemake(stale, "results/audio/aug1/shard-0.npz", "-n", *DEMO, "--config", 'augment={"copies":0}')
    assert off.returncode != 0 and "aug1 does not exist" in off.stderr + off.stdout, off.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("speedup", ['{"max_layer": 2}', '{"quantize": "int8"}'])
def test_an_embedding_speed_up_reruns_only_the_hugging_face_encoders_shards(stale, speedup):
    """The opt-in speed-ups change the numbers: each reruns the hf encoder's shards (not openSMILE's)."""
    embeds = {j for j in planned_jobs(stale, *DEMO, "--config", f"embed={speedup}") if j.startswith("embed[")}
    assert embeds == {job("embed", encoder="tiny-wavlm", variant=v, shard=s) for v in ("clean", "aug1") for s in SHARDS}


@pytest.mark.slow
def test_one_new_clip_reruns_its_shard_only(demo_run, tmp_path):
    workdir = copy_run(demo_run, tmp_path / "run")
    audio = workdir / "results/demo/AudioWAV"
    new = "1001_DFA_ANG_HI"  # an existing actor; the demo corpus has only XX intensities
    assert not (audio / f"{new}.wav").exists()
    shutil.copy2(audio / "1001_DFA_ANG_XX.wav", audio / f"{new}.wav")
    shard = str(shard_of(new, len(SHARDS)))
    got = planned_jobs(workdir, *DEMO)
    expected = {job("check_clips", shard=shard), job("manifest"), "folds", job("augment", n="1", shard=shard),
                "clip_levels", job("target_values", target=TARGET)}
    for encoder in ENCODERS:  # new folds: every probe, classifier, regressor and figure downstream
        expected |= regression_jobs(encoder)
        expected |= {job("embed", encoder=encoder, variant=v, shard=shard) for v in ("clean", "aug1")}
        expected |= {job("plan", encoder=encoder, fold=f) for f in FOLDS}
        expected |= {job("layer_probe_table", encoder=encoder), job("plot_umap", encoder=encoder)}
        expected |= train_jobs(encoder, CLASSIFIERS) | downstream_of_predictions(encoder, CLASSIFIERS)
    expected.add(job("plot_layer_probe", encoder="tiny-wavlm"))  # only hf encoders have a probe figure
    assert got == expected, explain(got, expected)


def copy_workflow(target: Path) -> Path:
    """The workflow's code (Snakefile, rules, scripts, library, shipped resources, profiles) elsewhere."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy2(REPO / name, target / name)
    for name in ("workflow", "resources", "profiles", "envs"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "cremad", "models"))
    return target


def planned_with(code: Path, workdir: Path) -> set[str]:
    """The jobs a run of the workflow copy ``code`` would rerun on the finished run in ``workdir``."""
    # every rerun trigger stays on: a copy of the workflow in another folder changes nothing
    profile = ("--cores", "2", "--workflow-profile", str(code / "profiles" / "demo"))
    return planned_jobs(workdir, *profile, snakefile=code / "Snakefile")


@pytest.mark.slow
def test_mlp_code_change_reruns_only_mlp_jobs(stale, tmp_path):
    code = copy_workflow(tmp_path)
    assert planned_with(code, stale) == set()  # the copy's location is irrelevant
    source = code / "workflow/speech_emotion/train/classifiers/mlp.py"
    text = source.read_text()
    anchor = "class MLPClassifier(Classifier):\n"
    assert anchor in text
    source.write_text(text.replace(anchor, anchor + "    _code_change = 1  # an edit of the MLP only\n"))
    got = planned_with(code, stale)
    expected = set()
    for encoder in ENCODERS:
        expected |= train_jobs(encoder, ("mlp", "ensemble")) | downstream_of_predictions(encoder, ("mlp", "ensemble"))
    assert got == expected, explain(got, expected)


@pytest.mark.slow
def test_plan_code_change_reruns_the_plans(stale, tmp_path):
    code = copy_workflow(tmp_path)
    plan = code / "workflow/speech_emotion/train/plan.py"
    _edit(plan, "    clean = np.asarray(clean, dtype=bool)", "    mode = str(mode)  # an edit of the plan code\n")
    got = planned_with(code, stale)
    plans = {job("plan", encoder=e, fold=f) for e in ENCODERS for f in FOLDS}
    assert plans <= got, explain(got, plans)  # without the `code` param the plans stayed as they were
    assert not any(j.startswith(("embed[", "augment[", "check_clips[")) for j in got), sorted(got)


def _edit(path: Path, anchor: str, insert: str) -> None:
    """Insert ``insert`` after the (first) line that starts with ``anchor``."""
    text = path.read_text()
    start = text.index(anchor)
    end = text.index("\n", start) + 1
    path.write_text(text[:end] + insert + text[end:])

"""Scale benchmark: the post-embedding DAG on a corpus of CREMA-D's exact shape, without the audio cost.

    python benchmarks/scale.py --scale 0.05 0.1 [--workdir scale-runs] [--cores 2]
        [--classifiers logreg svm ...] [--config-yaml FILE] [--timeout-min 90] [--no-fold-first] [--report-only]
        [-- EXTRA SNAKEMAKE ARGS, e.g. --config 'train={"threads":1}']
    python benchmarks/scale.py --summarize DIR      # the same tables for any workflow run in DIR

For each scale s, in WORKDIR/scale-<s>/ (emptied first):

1. a corpus of CREMA-D's shape: round(91 s) actors (at least 5, one per fold), each with CREMA-D's
   82 clips (12 sentences; IEO at LO/MD/HI for the five emotions, every other sentence at XX;
   NEU 12 clips, the other emotions 14), minus round(3 s) clips per emotion and round(5 s) NEU
   (so s = 1 gives exactly 7,442 clips: ANG/DIS/FEA/HAP/SAD 1,271 each, NEU 1,087), named like
   CREMA-D (``1001_DFA_ANG_XX.wav``), 0.5 s of 16 kHz PCM16 each (not silent), with an actor table
   (VideoDemographics.csv) and listener votes (summaryTable.csv). What scales is the number of
   speakers; clips per speaker stay CREMA-D's.
2. ``dataset.kind: cremad`` on that folder, the default config.yaml otherwise (features.layers
   auto, augment.use auto with 2 copies, every classifier, 5 speaker-independent folds + the final
   model, evaluation and figures): rules check_clips, manifest and folds run for real.
3. every file upstream of the embeddings is written directly instead of computed, after a dry
   run lists them: the encoder folder ``resources/models/wavlm-large`` (a stub config.json; it is
   never loaded), the augmented audio shards (copies of the clean audio, in the audio_store
   format) and the embedding shards of every variant in WavLM-Large's exact shape (25 layers x
   2048, float16, :func:`speech_emotion.embed.embeddings.write_shard`, the clips of each shard read
   from check_clips' tables, so membership is :func:`speech_emotion.embed.shards.shard_of`), written
   after their inputs so that their mtimes are newer (Snakemake has no metadata for them and
   reruns nothing on params or code). Features are class- and speaker-structured
   (:class:`FeatureModel`); a copy is its clip's features plus small noise. A second dry run must
   then schedule post-embedding rules only, or the tool stops.
4. ``snakemake --cores N`` runs the rest (fold 0 of every classifier first, so that a run stopped
   by ``--timeout-min`` has measured every classifier); its wall time is measured. Each job's wall
   time comes from its ``benchmark:`` file (results/benchmarks/{rule}/...tsv), its CPU time and
   exact peak resident memory from the kernel (getrusage and VmHWM, recorded at exit by
   benchmarks/rusage/sitecustomize.py; Snakemake's own max_rss is sampled, every 30 s after a
   job's first 15 s, and is shown beside it).

It prints, per scale, a table per rule (train split by classifier) and a table per job, and, with
two or more scales, how each rule's cost per job grows with the number of clips (log-log slope) and
its extrapolation to the full corpus (7,442 clips). The reports are also written to
WORKDIR/scale-<s>/scale-report.md and WORKDIR/growth.md; Snakemake's output is in
WORKDIR/scale-<s>/benchmark-logs/. ``--report-only`` prints the tables of runs already there
(e.g. of a run stopped by ``--timeout-min``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from speech_emotion.io.audio_store import write_audio_shard  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.embed.embeddings import write_shard  # noqa: E402

CREMAD_SPEAKERS = 91
CREMAD_CLIPS = 7442
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
MISSING_PER_EMOTION = {"NEU": 5}  # CREMA-D lacks 3 clips of each other emotion, 5 NEU
MISSING_DEFAULT = 3
N_LAYERS, DIM = 25, 2048  # WavLM-Large: 24 transformer layers + the CNN output; mean ++ std of 1024
ENCODER, MODEL = "wavlm-large", "microsoft/wavlm-large"
SAMPLE_RATE, CLIP_SECONDS = 16000, 0.5
UPSTREAM_RULES = {"download_model", "augment", "embed"}
POST_EMBEDDING_RULES = {
    "plan", "layer_probe_table", "tune", "train", "final_model", "aggregate", "classifier_figures", "leaderboard",
    "summary", "plot_comparison", "plot_fold_scores", "plot_umap", "plot_layer_probe", "clip_levels", "explain",
    "explain_summary", "all",
}  # fmt: skip


def _seed(*keys: object) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, keys)).encode()).digest()[:8], "big")


# --- corpus ----------------------------------------------------------------------------------------


def n_speakers(scale: float, min_speakers: int = 5) -> int:
    """Actors at a scale: round(91 x scale), at least one per fold."""
    return max(min_speakers, int(round(CREMAD_SPEAKERS * scale)))


def plan_corpus(scale: float, seed: int = 42, min_speakers: int = 5) -> pd.DataFrame:
    """CREMA-D's clip table at ``scale``: clip_id, speaker, sentence, label, intensity."""
    speakers = [str(1001 + i) for i in range(n_speakers(scale, min_speakers))]
    rows = []
    for speaker in speakers:
        for sentence in SENTENCES:
            for label in EMOTIONS:
                levels = ("LO", "MD", "HI") if sentence == "IEO" and label != "NEU" else ("XX",)
                for level in levels:
                    rows.append((f"{speaker}_{sentence}_{label}_{level}", speaker, sentence, label, level))
    frame = pd.DataFrame(rows, columns=["clip_id", "speaker", "sentence", "label", "intensity"])
    rng = np.random.default_rng(_seed(seed, "missing"))
    drop = []
    for label in EMOTIONS:
        ids = frame.loc[frame["label"] == label, "clip_id"].to_numpy()
        n = int(round(MISSING_PER_EMOTION.get(label, MISSING_DEFAULT) * min(scale, 1.0)))
        drop += list(rng.choice(ids, size=n, replace=False))
    return frame[~frame["clip_id"].isin(drop)].sort_values("clip_id").reset_index(drop=True)


def write_corpus(plan: pd.DataFrame, folder: Path, seed: int = 42) -> None:
    """Short, non-silent wav files named like CREMA-D + VideoDemographics.csv + summaryTable.csv."""
    import soundfile as sf

    audio = folder / "AudioWAV"
    audio.mkdir(parents=True, exist_ok=True)
    n = int(SAMPLE_RATE * CLIP_SECONDS)
    t = np.arange(n) / SAMPLE_RATE
    for clip_id, speaker in zip(plan["clip_id"], plan["speaker"]):
        rng = np.random.default_rng(_seed(seed, "wav", clip_id))
        f0 = 100 + (int(speaker) % 17) * 8 + rng.uniform(-5, 5)
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3)) * 0.2 + rng.normal(0, 0.01, n)
        sf.write(audio / f"{clip_id}.wav", wave.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    speakers = sorted(plan["speaker"].unique())
    rng = np.random.default_rng(_seed(seed, "actors"))
    male = set(rng.permutation(CREMAD_SPEAKERS)[:48] + 1001)  # CREMA-D: 48 male, 43 female actors
    pd.DataFrame({
        "ActorID": speakers,
        "Age": rng.integers(20, 75, len(speakers)),
        "Sex": ["Male" if int(s) in male else "Female" for s in speakers],
        "Race": "Caucasian",
        "Ethnicity": "Not Hispanic",
    }).to_csv(folder / "VideoDemographics.csv", index=False)  # fmt: skip
    letters = {label: label[0] for label in EMOTIONS}
    votes = []
    for clip_id, label in zip(plan["clip_id"], plan["label"]):
        r = np.random.default_rng(_seed(seed, "vote", clip_id)).random()
        other = EMOTIONS[(EMOTIONS.index(label) + 1 + int(r * 100) % 5) % 6]
        votes.append(letters[label] if r < 0.45 else f"{letters[label]}:N" if r < 0.55 else letters[other])
    pd.DataFrame({"FileName": plan["clip_id"], "VoiceVote": votes}).to_csv(folder / "summaryTable.csv", index=False)


# --- features --------------------------------------------------------------------------------------


class FeatureModel:
    """Synthetic pooled embeddings (clips, 25, 2048) with the structure of real ones.

    Per layer l, a clip's latent vector (32 dims) is ``a_l * signal * mu[label] + b[speaker] + e_clip
    + e_clip_l``: a per-class direction whose strength ``a_l`` peaks at layer ``peak`` (so the layer
    probe has something to find), a strong per-speaker offset, per-clip noise shared by all layers and
    per-layer noise (so adjacent layers add a little). It is projected to 2048 dims by a per-layer
    matrix that drifts slowly with depth, plus isotropic noise and a per-layer offset. Everything is
    seeded by (seed, speaker) and (seed, clip id): a clip has the same features at every scale.
    Calibrated so that a logistic-regression probe (C=1, the plan's probe until the ridge probe
    replaced it) scores about 0.68 balanced accuracy on the best layer and 0.23 on the first (15
    speakers), near what WavLM-Large gives on CREMA-D.
    """

    latent = 32

    def __init__(self, seed: int = 42, signal: float = 0.85, speaker: float = 1.5, clip: float = 1.0,
                 layer_noise: float = 0.7, iso: float = 0.5, peak: int = 15, width: float = 5.0):  # fmt: skip
        rng = np.random.default_rng(_seed(seed, "model"))
        k = self.latent
        self.mu = {label: rng.standard_normal(k) for label in EMOTIONS}
        base, walk, mats = rng.standard_normal((k, DIM)), rng.standard_normal((k, DIM)), []
        for _ in range(N_LAYERS):
            walk = 0.8 * walk + 0.6 * rng.standard_normal((k, DIM))
            mats.append((base + 0.8 * walk) / np.sqrt(k))
        self.proj = np.stack(mats).astype(np.float32)  # (layers, latent, dim)
        self.offset = (rng.standard_normal((N_LAYERS, DIM)) * 0.5).astype(np.float32)
        self.strength = signal * (0.2 + 0.8 * np.exp(-(((np.arange(N_LAYERS) - peak) / width) ** 2)))
        self.seed, self.speaker, self.clip, self.layer_noise, self.iso = seed, speaker, clip, layer_noise, iso
        self._speakers: dict[str, np.ndarray] = {}

    def _speaker(self, speaker: str) -> np.ndarray:
        if speaker not in self._speakers:
            rng = np.random.default_rng(_seed(self.seed, "speaker", speaker))
            self._speakers[speaker] = rng.standard_normal(self.latent) * self.speaker
        return self._speakers[speaker]

    def features(self, clip_ids: Sequence[str], speakers: Sequence[str], labels: Sequence[str]) -> np.ndarray:
        out = np.empty((len(clip_ids), N_LAYERS, DIM), dtype=np.float32)
        for i, (clip_id, speaker, label) in enumerate(zip(clip_ids, speakers, labels)):
            rng = np.random.default_rng(_seed(self.seed, "clip", clip_id))
            z = (self.strength[:, None] * self.mu[label][None, :] + self._speaker(speaker)
                 + rng.standard_normal(self.latent) * self.clip
                 + rng.standard_normal((N_LAYERS, self.latent)) * self.layer_noise)  # fmt: skip
            out[i] = np.einsum("lk,lkd->ld", z.astype(np.float32), self.proj)
            out[i] += rng.standard_normal((N_LAYERS, DIM), dtype=np.float32) * self.iso + self.offset
        return out

    def copy(self, features: np.ndarray, clip_ids: Sequence[str], copy: int, noise: float = 0.3) -> np.ndarray:
        """Augmented copy ``copy``: the clips' features plus small isotropic noise."""
        out = features.copy()
        for i, clip_id in enumerate(clip_ids):
            rng = np.random.default_rng(_seed(self.seed, "copy", copy, clip_id))
            out[i] += rng.standard_normal(out.shape[1:], dtype=np.float32) * noise
        return out


# --- snakemake -------------------------------------------------------------------------------------


def write_config(workdir: Path, classifiers: Sequence[str] | None, overrides: Path | None = None) -> Path:
    """The benchmark's config file: the corpus folder, the classifier list when given, and the
    sections of ``overrides`` (a YAML file; typed values, unlike --config, e.g. ``features: {layers:
    [14, 15, 16]}``) on top."""
    import yaml

    config: dict = {"dataset": {"kind": "cremad", "source": "corpus/AudioWAV",
                                "demographics": "corpus/VideoDemographics.csv",
                                "perception": "corpus/summaryTable.csv"}}  # fmt: skip
    if classifiers:
        config["run"] = {"classifiers": list(classifiers)}
    for key, value in (yaml.safe_load(overrides.read_text(encoding="utf-8")) if overrides else {}).items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and key in config else value
    path = workdir / "scale.yaml"
    text = yaml.safe_dump(config, sort_keys=False)
    path.write_text("# written by benchmarks/scale.py; on top of the default config.yaml\n" + text, encoding="utf-8")
    return path


def snakemake_cmd(workdir: Path, *args: str, targets: Sequence[str] = ()) -> list[str]:
    """Targets first: --configfile and --config take every word after them."""
    return [sys.executable, "-m", "snakemake", *targets, "-s", str(REPO / "Snakefile"), "-d", str(workdir),
            "--configfile", str(workdir / "scale.yaml"), *args]  # fmt: skip


RUSAGE_HOOK = REPO / "benchmarks" / "rusage"  # sitecustomize.py: exact peak memory and CPU time per job


def run(cmd: list[str], log: Path, timeout_s: float | None = None) -> tuple[int, float, bool]:
    """Run ``cmd`` in its own process group with output to ``log``; (return code, seconds, timed out).
    On timeout the group gets SIGTERM (Snakemake stops its jobs), then SIGKILL after 60 s.
    Every Snakemake script job appends its kernel-measured peak memory and CPU time to
    ``<log folder>/rusage.jsonl`` (benchmarks/rusage/sitecustomize.py)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{REPO / 'workflow'}{os.pathsep}{RUSAGE_HOOK}",
           "SCALE_RUSAGE_LOG": str(log.parent / "rusage.jsonl")}  # fmt: skip
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout_s)
            return code, time.perf_counter() - start, False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return proc.returncode, time.perf_counter() - start, True


def parse_dry_run(text: str) -> list[dict]:
    """Jobs listed by ``snakemake -n``: {rule, outputs, benchmark} each."""
    jobs: list[dict] = []
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r"^(?:local)?rule (\S+):$", line)
        if match:
            jobs.append({"rule": match.group(1), "outputs": [], "benchmark": None})
        elif jobs and line.startswith("output:"):
            jobs[-1]["outputs"] += [p.strip() for p in line.split(":", 1)[1].split(",")]
        elif jobs and line.startswith("benchmark:"):
            jobs[-1]["benchmark"] = line.split(":", 1)[1].strip()
    return jobs


def dry_run(workdir: Path, extra: Sequence[str], log: Path) -> list[dict]:
    """The jobs a run would execute (:func:`parse_dry_run` of ``snakemake -n``)."""
    code, _, _ = run(snakemake_cmd(workdir, "-n", *extra), log)
    text = log.read_text(encoding="utf-8")
    if code != 0:
        raise SystemExit(f"dry run failed (exit {code}); see {log}:\n{text[-3000:]}")
    return parse_dry_run(text)


def fake_upstream(workdir: Path, jobs: list[dict], model: FeatureModel) -> dict[str, int]:
    """Write what download_model, augment and embed would: model folder first, audio, then embeddings."""
    unknown = sorted({job["rule"] for job in jobs} - UPSTREAM_RULES - POST_EMBEDDING_RULES)
    if unknown:
        raise SystemExit(f"the dry run schedules rules this benchmark cannot stand in for: {unknown}")
    outputs = {rule: [o for job in jobs if job["rule"] == rule for o in job["outputs"]] for rule in UPSTREAM_RULES}
    for folder in outputs["download_model"]:
        path = workdir / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({"note": "stub written by benchmarks/scale.py"}) + "\n")
    manifest = read_table(workdir / "results/data/manifest.tsv").set_index("clip_id")

    def shard_clips(shard: str) -> list[str]:
        table = read_table(workdir / f"results/data/shards/shard-{shard}.tsv")
        return sorted(table.loc[table["reason"] == "", "clip_id"])

    for name in outputs["augment"]:  # results/audio/aug{n}/shard-{i}.npz: the clean audio as the copy
        import soundfile as sf

        ids = shard_clips(re.search(r"shard-(\d+)", name).group(1))
        clips = {c: sf.read(workdir / manifest.loc[c, "path"], dtype="float32")[0] for c in ids}
        write_audio_shard(workdir / name, clips, SAMPLE_RATE)
    time.sleep(1.0)  # embeddings strictly newer than their inputs
    by_shard: dict[str, dict[str, str]] = {}
    for name in outputs["embed"]:  # results/embeddings/{encoder}/{variant}/shard-{i}.npz
        match = re.search(r"results/embeddings/([^/]+)/(clean|aug\d+)/shard-(\d+)\.npz$", name)
        if not match or match.group(1) != ENCODER:
            raise SystemExit(f"unexpected embed output {name} (this benchmark writes {ENCODER} shards only)")
        by_shard.setdefault(match.group(3), {})[match.group(2)] = name
    for shard, names in sorted(by_shard.items(), key=lambda kv: int(kv[0])):
        ids = shard_clips(shard)
        rows = manifest.loc[ids]
        clean = model.features(ids, rows["speaker"].tolist(), rows["label"].tolist())
        for variant, name in sorted(names.items()):
            array = clean if variant == "clean" else model.copy(clean, ids, int(variant[3:]))
            write_shard(workdir / name, ids, array, ENCODER, MODEL, "synthetic-scale-benchmark")
    return {rule: len(outs) for rule, outs in outputs.items()}


# --- tables ----------------------------------------------------------------------------------------

JOB_COLUMNS = ["rule", "job", "classifier", "done", "s", "cpu_s", "peak_rss_mb", "sampled_rss_mb"]


def _benchmark_row(path: Path) -> dict | None:
    table = pd.read_csv(path, sep="\t")
    if table.empty:
        return None
    last = table.iloc[-1]
    return {"s": float(last["s"]), "cpu_s": float(last.get("cpu_time", float("nan"))),
            "max_rss_mb": float(pd.to_numeric(last.get("max_rss"), errors="coerce"))}  # fmt: skip


def _classifier(rule: str, path: str) -> str:
    match = re.search(r"(?:^|/cv/)[^/]+/([a-z]+)/fold-", path)  # results/cv/{e}/{c}/fold-k/... or {e}/{c}/fold-k
    return match.group(1) if rule == "train" and match else ""


def job_table(workdir: Path) -> pd.DataFrame:
    """One row per post-embedding job of the run (from its dry run): wall time ``s`` (Snakemake
    benchmark file, else the job's own clock), CPU time and peak RSS from the kernel (rusage hook;
    else the benchmark file), ``sampled_rss_mb`` (the benchmark file's max_rss), ``done``.
    Without a dry-run log (a user's own run), the benchmark files alone."""
    logs = workdir / "benchmark-logs"
    plan = logs / "dry-run-after.log"
    usage = {}
    if (logs / "rusage.jsonl").exists():
        for line in (logs / "rusage.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            usage[record["output"]] = record
    if plan.exists():
        jobs = [j for j in parse_dry_run(plan.read_text(encoding="utf-8")) if j["rule"] != "all"]
    else:
        root = workdir / "results" / "benchmarks"
        jobs = [{"rule": p.relative_to(root).parts[0], "outputs": [], "benchmark": str(p.relative_to(workdir))}
                for p in sorted(root.rglob("*.tsv"))] if root.is_dir() else []  # fmt: skip
    rows = []
    for job in jobs:
        rule, bench_path = job["rule"], job["benchmark"]
        first = job["outputs"][0] if job["outputs"] else ""
        prefix = f"results/benchmarks/{rule}/"
        name = bench_path[len(prefix) : -len(".tsv")] if bench_path else first.removeprefix("results/")
        bench = _benchmark_row(workdir / bench_path) if bench_path and (workdir / bench_path).exists() else None
        used = usage.get(first)
        done = bench is not None or (used is not None and (workdir / first).exists())
        nan = float("nan")
        rows.append({
            "rule": rule, "job": name, "classifier": _classifier(rule, first or name), "done": done,
            "s": bench["s"] if bench else used["wall_s"] if used and done else nan,
            "cpu_s": used["cpu_s"] if used and done else bench["cpu_s"] if bench else nan,
            "peak_rss_mb": used["peak_rss_mb"] if used and done else bench["max_rss_mb"] if bench else nan,
            "sampled_rss_mb": bench["max_rss_mb"] if bench else nan,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def row_label(row: pd.Series) -> str:
    return f"{row['rule']} ({row['classifier']})" if row["rule"] == "train" and row["classifier"] else row["rule"]


RULE_COLUMNS = ["rule", "jobs", "done", "wall_s_sum", "wall_s_mean", "wall_s_max", "cpu_s_sum", "peak_rss_mb"]


def rule_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule (train per classifier), finished jobs only: wall s sum / mean / max, CPU s, largest peak RSS."""
    if jobs.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    frame = jobs.assign(label=jobs.apply(row_label, axis=1))
    done = frame[frame["done"]]
    table = done.groupby("label").agg(
        done=("s", "size"), wall_s_sum=("s", "sum"), wall_s_mean=("s", "mean"), wall_s_max=("s", "max"),
        cpu_s_sum=("cpu_s", "sum"), peak_rss_mb=("peak_rss_mb", "max"),
    )  # fmt: skip
    table = frame.groupby("label").size().rename("jobs").to_frame().join(table)
    table["done"] = table["done"].fillna(0).astype(int)
    table = table.sort_values("wall_s_sum", ascending=False).reset_index().rename(columns={"label": "rule"})
    return table[RULE_COLUMNS]


def markdown(frame: pd.DataFrame, floats: str = "{:.1f}") -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, (float, np.floating)):
                cells.append("-" if math.isnan(value) else floats.format(value))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scale_report(workdir: Path, info: dict) -> str:
    jobs = job_table(workdir)
    table = rule_table(jobs)
    default = f"Scale {info.get('scale')}: {info.get('speakers')} speakers, {info.get('clips')} clips"
    title = info.get("title") or default
    lines = [f"## {title}", ""]
    if info.get("labels"):
        lines.append("Clips per class: " + ", ".join(f"{k} {v}" for k, v in info["labels"].items()))
    fields = (("commit", "code"), ("setup", "setup (s)"), ("post_embedding_jobs", "post-embedding jobs"),
              ("run_s", "snakemake wall time of the post-embedding run (s)"), ("status", "status"),
              ("cores", "cores"), ("extra", "extra snakemake arguments"), ("config_yaml", "--config-yaml"),
              ("note", "note"), ("load", "load average at start / end"))  # fmt: skip
    for key, text in fields:
        if key in info:
            lines.append(f"- {text}: {info[key]}")
    source = "the kernel (rusage hook)" if (workdir / "benchmark-logs" / "rusage.jsonl").exists() else "them"
    lines += ["", f"Per rule (train per classifier; finished jobs; wall s from the benchmark files, CPU s and peak "
              f"RSS MB from {source}):", ""]  # fmt: skip
    lines.append(markdown(table))
    if not table.empty:
        finished = jobs[jobs["done"]]
        lines.append(f"| all jobs | {len(jobs)} | {len(finished)} | {finished['s'].sum():.1f} | | | "
                     f"{finished['cpu_s'].sum():.1f} | |")  # fmt: skip
    lines += ["", "Per job (sampled_rss_mb: the benchmark file's max_rss):", "",
              markdown(jobs.drop(columns=["classifier"]))]  # fmt: skip
    return "\n".join(lines) + "\n"


def growth_report(results: dict[float, tuple[int, pd.DataFrame]]) -> str:
    """Per rule across scales: CPU s and peak RSS per job, and their extrapolation to 7,442 clips.

    CPU time (less disturbed by other load than wall time) follows a power law in the clips after
    removing the start-up cost of a job (the smallest CPU time of any job of the run: imports); the
    exponent is the least-squares log-log slope over the scales. Peak RSS is fitted as a + b x clips
    (the interpreter and libraries are a constant floor).
    """
    scales = sorted(results)
    per = {s: rule_table(results[s][1]).set_index("rule") for s in scales}
    floor = {s: float(results[s][1].loc[results[s][1]["done"], "cpu_s"].min()) for s in scales}
    rules = list(dict.fromkeys(r for s in reversed(scales) for r in per[s].index))
    rows = []
    for rule in rules:
        row: dict[str, object] = {"rule": rule}
        points = []  # (clips, cpu s per job above start-up, peak rss, jobs, wall s per job)
        for s in scales:
            entry = per[s].loc[rule] if rule in per[s].index else None
            ok = entry is not None and entry["done"] > 0
            row[f"CPU s/job @{s:g}"] = float(entry["cpu_s_sum"] / entry["done"]) if ok else float("nan")
            if ok:
                cpu = float(entry["cpu_s_sum"] / entry["done"])
                points.append((results[s][0], max(cpu - floor[s], 0.05), float(entry["peak_rss_mb"]),
                               int(entry["jobs"]), cpu))  # fmt: skip
        for s in scales:
            entry = per[s].loc[rule] if rule in per[s].index else None
            ok = entry is not None and entry["done"] > 0
            row[f"peak MB @{s:g}"] = float(entry["peak_rss_mb"]) if ok else float("nan")
        if len(points) >= 2 and len({p[0] for p in points}) >= 2:
            clips = np.array([p[0] for p in points], dtype=float)
            slope = float(np.polyfit(np.log(clips), np.log([p[1] for p in points]), 1)[0])
            last = points[-1]
            cpu_full = floor[scales[-1]] + last[1] * (CREMAD_CLIPS / last[0]) ** slope
            b, a = np.polyfit(clips, [p[2] for p in points], 1)
            row["slope"] = slope
            row["CPU s/job @1"] = cpu_full
            row["CPU h/rule @1"] = cpu_full * last[3] / 3600
            row["peak MB @1"] = max(a + b * CREMAD_CLIPS, last[2])
        rows.append(row)
    header = "## Growth with the corpus (clips: " + ", ".join(f"{s:g} -> {results[s][0]}" for s in scales) + ")\n\n"
    note = ("\nCPU s/job: mean CPU time per finished job (kernel). slope: d log(CPU s/job - start-up) / d log(clips), "
            "start-up = the smallest CPU time of any job of the run (1 = linear, 2 = quadratic). @1: extrapolated "
            "to 7,442 clips from the largest scale with that slope; CPU h/rule = CPU s/job x jobs. peak MB @1: "
            "a + b x clips fitted to the scales (at least the largest measured).\n")  # fmt: skip
    return header + markdown(pd.DataFrame(rows), "{:.2f}") + "\n" + note


# --- main ------------------------------------------------------------------------------------------


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=True)  # fmt: skip
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_scale(scale: float, workdir: Path, args: argparse.Namespace, extra: list[str]) -> dict:
    info: dict = {"scale": scale, "commit": git_commit(), "cores": args.cores, "extra": " ".join(extra)}
    if args.config_yaml:
        info["config_yaml"] = args.config_yaml.read_text(encoding="utf-8").strip().replace("\n", "; ")
    info_file = workdir / "scale-info.json"
    if args.report_only:
        return json.loads(info_file.read_text()) if info_file.exists() else info
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    logs = workdir / "benchmark-logs"
    logs.mkdir()
    plan = plan_corpus(scale, args.seed)
    info.update(speakers=int(plan["speaker"].nunique()), clips=len(plan),
                labels={k: int(v) for k, v in plan["label"].value_counts().sort_index().items()})  # fmt: skip
    if info["speakers"] < 7:
        info["note"] = (f"{info['speakers']} speakers: a training fold has fewer speakers than the 5 inner folds, so "
                        "the inner CV (probe, C, calibration) falls back to splits that are not speaker-grouped "
                        "(toy regime; costs and scores differ from a real corpus)")  # fmt: skip
    t0 = time.perf_counter()
    write_corpus(plan, workdir / "corpus", args.seed)
    write_config(workdir, args.classifiers, args.config_yaml)
    t_corpus = time.perf_counter() - t0
    say(f"scale {scale}: {info['speakers']} speakers, {info['clips']} clips written in {t_corpus:.0f} s; "
        "check_clips/manifest/folds ...")  # fmt: skip
    data_cmd = snakemake_cmd(workdir, "--cores", str(args.cores), *extra, targets=["results/data/folds.tsv"])
    code, t_data, _ = run(data_cmd, logs / "data.log")
    if code != 0:
        raise SystemExit(f"check_clips/manifest/folds failed; see {logs / 'data.log'}")
    t0 = time.perf_counter()
    jobs = dry_run(workdir, extra, logs / "dry-run-before.log")
    counts = fake_upstream(workdir, jobs, FeatureModel(seed=args.seed))
    t_fake = time.perf_counter() - t0
    after = dry_run(workdir, extra, logs / "dry-run-after.log")
    rules = {job["rule"] for job in after}
    if not rules <= POST_EMBEDDING_RULES:
        raise SystemExit(f"after writing the embeddings, the dry run still schedules "
                         f"{sorted(rules - POST_EMBEDDING_RULES)} (see {logs / 'dry-run-after.log'})")  # fmt: skip
    info["setup"] = (f"corpus {t_corpus:.0f}, check_clips+manifest+folds {t_data:.0f}, "
                     f"written instead of run: {counts} in {t_fake:.0f}")  # fmt: skip
    info["post_embedding_jobs"] = len(after) - 1
    planned = pd.Series([job["rule"] for job in after if job["rule"] != "all"]).value_counts()
    info["planned_jobs"] = {rule: int(n) for rule, n in sorted(planned.items())}
    say(f"scale {scale}: {info['setup']}; running {info['post_embedding_jobs']} post-embedding jobs ...")
    info["load"] = f"{os.getloadavg()[0]:.1f}"
    info_file.write_text(json.dumps(info, indent=2))
    timeout = args.timeout_min * 60 if args.timeout_min else None
    cmd = snakemake_cmd(workdir, "--cores", str(args.cores), *extra)
    code, seconds, timed_out = 0, 0.0, False
    if args.fold_first:  # fold 0 of every classifier first: a time-boxed run still measures each classifier
        train_outputs = [o for job in after if job["rule"] == "train" for o in job["outputs"]]
        first = [o for o in train_outputs if o.endswith("/fold-0/predictions.tsv")]
        code, seconds, timed_out = run(snakemake_cmd(workdir, "--cores", str(args.cores), *extra, targets=first),
                                       logs / "run-fold-0.log", timeout)  # fmt: skip
    if code == 0 and not timed_out:
        code, rest, timed_out = run(cmd, logs / "run.log", timeout - seconds if timeout else None)
        seconds += rest
    info["load"] += f" / {os.getloadavg()[0]:.1f}"
    info["run_s"] = f"{seconds:.0f}"
    info["status"] = ("stopped after --timeout-min " + str(args.timeout_min) if timed_out
                      else "complete" if code == 0 else f"failed (exit {code}, see the logs in {logs})")  # fmt: skip
    info_file.write_text(json.dumps(info, indent=2))
    return info


def say(message: str) -> None:
    print(f"[scale] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1], help="fractions of CREMA-D's 91 speakers")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ser-scale",
                        help="one folder scale-<s> per scale (default: ser-scale in the temporary folder)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--classifiers", nargs="+", help="run.classifiers (default: config.yaml's, i.e. all)")
    parser.add_argument("--config-yaml", type=Path, metavar="FILE",
                        help="YAML merged into the benchmark's config (typed values, e.g. a list of layers)")
    parser.add_argument("--timeout-min", type=float, help="stop a scale's run after this many minutes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-fold-first", dest="fold_first", action="store_false",
                        help="run the DAG in Snakemake's order (default: fold 0 of every classifier first)")
    parser.add_argument("--report-only", action="store_true", help="only print the tables of existing runs")
    parser.add_argument("--summarize", type=Path, metavar="DIR",
                        help="only print the tables of the benchmark files of any workflow run in DIR")
    args = parser.parse_args(own)
    if args.summarize:
        print(scale_report(args.summarize, {"title": f"Benchmark files under {args.summarize}/results/benchmarks"}))
        return 0
    results, failed = {}, False
    for scale in args.scale:
        workdir = args.workdir.resolve() / f"scale-{scale:g}"
        info = run_scale(scale, workdir, args, extra)
        report = scale_report(workdir, info)
        (workdir / "scale-report.md").write_text(report, encoding="utf-8")
        print(report, flush=True)
        jobs = job_table(workdir)
        if info.get("clips") and jobs["done"].any():
            results[scale] = (int(info["clips"]), jobs)
        failed |= str(info.get("status", "complete")).startswith("failed")
    if len(results) >= 2:
        growth = growth_report(results)
        (args.workdir / "growth.md").write_text(growth, encoding="utf-8")
        print(growth, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

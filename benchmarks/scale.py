"""Scale benchmark: the post-embedding DAG on a corpus of CREMA-D's exact shape, without the audio cost.

    python benchmarks/scale.py --scale 0.05 0.1 [--workdir /tmp/ser-scale] [--cores 2]
        [--classifiers logreg svm ...] [--timeout-min 90] [--report-only] [-- EXTRA SNAKEMAKE ARGS]

For each scale s, in WORKDIR/scale-<s>/:

1. a corpus of CREMA-D's shape: round(91 s) actors (at least ``cv.folds``), each with CREMA-D's
   82 clips (12 sentences; IEO at LO/MD/HI for the five emotions, every other sentence at XX;
   NEU 12 clips, the other emotions 14), minus round(3 s) clips per emotion and round(5 s) NEU
   (so s = 1 gives exactly 7,442 clips: ANG/DIS/FEA/HAP/SAD 1,271 each, NEU 1,087), named like
   CREMA-D (``1001_DFA_ANG_XX.wav``), 0.5 s of 16 kHz PCM16 each (not silent), with an actor table
   (VideoDemographics.csv) and listener votes (summaryTable.csv). What scales is the number of
   speakers; clips per speaker stay CREMA-D's.
2. ``dataset.kind: cremad`` on that folder, the default config.yaml otherwise (features.layers
   auto, augment.use auto with 2 copies, every classifier, 5 speaker-independent folds + the final
   model): rules check_clips, manifest and folds run for real.
3. every file upstream of the embeddings is written directly instead of computed, after a dry
   run lists them: the encoder folder ``resources/models/wavlm-large`` (a stub config.json; it is
   never loaded), the augmented audio shards (copies of the clean audio, in the audio_store
   format) and the embedding shards of every variant in WavLM-Large's exact shape (25 layers x
   2048, float16, :func:`speech_emotion.embeddings.write_shard`, the clips of each shard read
   from check_clips' tables, so membership is :func:`speech_emotion.shards.shard_of`). Features
   are class- and speaker-structured (:class:`FeatureModel`); a copy is its clip's features plus
   small noise. A second dry run must then schedule post-embedding rules only.
4. ``snakemake --cores N`` runs the rest; its wall time is measured, and every job of a rule with a
   ``benchmark:`` file (results/benchmarks/{rule}/...tsv) gives its wall time, CPU time and peak
   resident memory (max_rss of the job's process tree).

It prints, per scale, a table per rule (train split by classifier) and a table per job, and, with
two or more scales, how each rule's cost grows with the number of clips (log-log slope) and its
extrapolation to the full corpus (7,442 clips). The report is also written to
WORKDIR/scale-<s>/scale-report.md (and WORKDIR/growth.md). ``--report-only`` prints the tables from
the benchmark files already there (e.g. of a run stopped by ``--timeout-min``).
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
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from speech_emotion.audio_store import write_audio_shard  # noqa: E402
from speech_emotion.datasets import read_table  # noqa: E402
from speech_emotion.embeddings import write_shard  # noqa: E402

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
    "layer_probe", "layer_probe_table", "tune", "train", "final_model", "aggregate", "classifier_figures",
    "summary", "plot_comparison", "plot_fold_scores", "plot_umap", "plot_layer_probe", "all",
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
    Calibrated so that the workflow's logistic-regression probe scores about 0.68 balanced accuracy
    on the best layer and 0.23 on the first (15 speakers), near what WavLM-Large gives on CREMA-D.
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


def write_config(workdir: Path, classifiers: Sequence[str] | None) -> Path:
    """The benchmark's config file: the corpus folder, and the classifier list when given."""
    lines = [
        "# written by benchmarks/scale.py: the default config.yaml with this corpus",
        "dataset:",
        "  kind: cremad",
        "  source: corpus/AudioWAV",
        "  demographics: corpus/VideoDemographics.csv",
        "  perception: corpus/summaryTable.csv",
    ]
    if classifiers:
        lines += ["run:", f"  classifiers: [{', '.join(classifiers)}]"]
    path = workdir / "scale.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snakemake_cmd(workdir: Path, *args: str, targets: Sequence[str] = ()) -> list[str]:
    """Targets first: --configfile and --config take every word after them."""
    return [sys.executable, "-m", "snakemake", *targets, "-s", str(REPO / "Snakefile"), "-d", str(workdir),
            "--configfile", str(workdir / "scale.yaml"), *args]  # fmt: skip


def run(cmd: list[str], log: Path, timeout_s: float | None = None) -> tuple[int, float, bool]:
    """Run ``cmd`` in its own process group with output to ``log``; (return code, seconds, timed out).
    On timeout the group gets SIGTERM (Snakemake stops its jobs), then SIGKILL after 60 s."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "workflow")}
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


def dry_run(workdir: Path, extra: Sequence[str], log: Path) -> list[tuple[str, list[str]]]:
    """The jobs a run would execute: (rule, outputs) per job, from ``snakemake -n``."""
    code, _, _ = run(snakemake_cmd(workdir, "-n", *extra), log)
    text = log.read_text(encoding="utf-8")
    if code != 0:
        raise SystemExit(f"dry run failed (exit {code}); see {log}:\n{text[-3000:]}")
    jobs, rule = [], None
    for line in text.splitlines():
        match = re.match(r"^(?:local)?rule (\S+):$", line.strip())
        if match:
            rule = match.group(1)
            jobs.append((rule, []))
        elif rule and line.strip().startswith("output:"):
            jobs[-1][1].extend(p.strip() for p in line.split(":", 1)[1].split(","))
    return jobs


def fake_upstream(workdir: Path, jobs: list[tuple[str, list[str]]], model: FeatureModel) -> dict[str, int]:
    """Write what download_model, augment and embed would: model folder first, audio, then embeddings."""
    unknown = sorted({rule for rule, _ in jobs} - UPSTREAM_RULES - POST_EMBEDDING_RULES)
    if unknown:
        raise SystemExit(f"the dry run schedules rules this benchmark cannot stand in for: {unknown}")
    outputs = {rule: [o for r, outs in jobs if r == rule for o in outs] for rule in UPSTREAM_RULES}
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


# --- benchmark tables ------------------------------------------------------------------------------


def read_benchmarks(workdir: Path) -> pd.DataFrame:
    """Every benchmark file under results/benchmarks: rule, job, classifier, s, cpu_time, max_rss (MB)."""
    rows = []
    root = workdir / "results" / "benchmarks"
    for path in sorted(root.rglob("*.tsv")) if root.is_dir() else []:
        parts = path.relative_to(root).with_suffix("").parts
        table = pd.read_csv(path, sep="\t")
        if table.empty:
            continue
        last = table.iloc[-1]
        # train/tune/{encoder}/{classifier}/fold-{k}, final_model|aggregate/{encoder}/{classifier}
        classifier = parts[2] if parts[0] in ("train", "tune", "final_model", "aggregate") and len(parts) > 2 else ""
        rows.append({
            "rule": parts[0],
            "job": "/".join(parts[1:]),
            "classifier": classifier,
            "s": float(last["s"]),
            "cpu_s": float(last["cpu_time"]) if "cpu_time" in table else float("nan"),
            "max_rss_mb": pd.to_numeric(last.get("max_rss"), errors="coerce"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["rule", "job", "classifier", "s", "cpu_s", "max_rss_mb"])


def row_label(row: pd.Series) -> str:
    return f"{row['rule']} ({row['classifier']})" if row["rule"] == "train" else row["rule"]


def rule_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Per rule (train per classifier): jobs, wall s sum / max job, CPU s sum, peak RSS MB of the largest job."""
    if bench.empty:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s_sum", "wall_s_max", "cpu_s_sum", "peak_rss_mb"])
    frame = bench.assign(label=bench.apply(row_label, axis=1))
    table = frame.groupby("label", sort=False).agg(
        jobs=("s", "size"), wall_s_sum=("s", "sum"), wall_s_max=("s", "max"), cpu_s_sum=("cpu_s", "sum"),
        peak_rss_mb=("max_rss_mb", "max"),
    )  # fmt: skip
    return table.sort_values("wall_s_sum", ascending=False).reset_index().rename(columns={"label": "rule"})


def markdown(frame: pd.DataFrame, floats: str = "{:.1f}") -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [floats.format(v) if isinstance(v, float) and not math.isnan(v) else "-" if isinstance(v, float)
                 else str(v) for v in row]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scale_report(workdir: Path, info: dict) -> str:
    bench = read_benchmarks(workdir)
    table = rule_table(bench)
    lines = [f"## Scale {info.get('scale')}: {info.get('speakers')} speakers, {info.get('clips')} clips", ""]
    if info.get("labels"):
        lines.append("Clips per class: " + ", ".join(f"{k} {v}" for k, v in info["labels"].items()))
    fields = (("commit", "code"), ("setup", "setup (s)"), ("post_embedding_jobs", "post-embedding jobs"),
              ("planned_jobs", "jobs per rule"), ("run_s", "snakemake wall time of the post-embedding run (s)"),
              ("status", "status"), ("cores", "cores"), ("extra", "extra snakemake arguments"),
              ("load", "load average at start / end"))  # fmt: skip
    for key, text in fields:
        if key in info:
            lines.append(f"- {text}: {info[key]}")
    lines += ["", "Per rule (benchmark files; train per classifier; wall s sum is the sum over jobs):", ""]
    lines.append(markdown(table))
    if not table.empty:
        total = f"| sum of benchmarked jobs | {len(bench)} | {bench['s'].sum():.1f} | | {bench['cpu_s'].sum():.1f} | |"
        lines.append(total)
    lines += ["", "Per job:", "", markdown(bench.drop(columns=["classifier"]))]
    return "\n".join(lines) + "\n"


def growth_report(results: dict[float, tuple[int, pd.DataFrame]]) -> str:
    """Per rule across scales: wall s sum, and its log-log slope against clips, extrapolated to 7,442 clips."""
    scales = sorted(results)
    per = {s: rule_table(results[s][1]).set_index("rule") for s in scales}
    rules = list(dict.fromkeys(r for s in reversed(scales) for r in per[s].index))
    rows = []
    for rule in rules:
        row: dict[str, object] = {"rule": rule}
        xs, ys, ms, rss = [], [], [], []
        for s in scales:
            if rule in per[s].index:
                entry = per[s].loc[rule]
                row[f"s@{s}"] = float(entry["wall_s_sum"])
                xs.append(results[s][0]), ys.append(float(entry["wall_s_sum"]))
                ms.append(float(entry["wall_s_max"])), rss.append(float(entry["peak_rss_mb"]))
            else:
                row[f"s@{s}"] = float("nan")
        usable = [(x, y, m, r) for x, y, m, r in zip(xs, ys, ms, rss) if y > 0]
        if len(usable) >= 2:
            lx = np.log([u[0] for u in usable])
            slope = float(np.polyfit(lx, np.log([u[1] for u in usable]), 1)[0])
            slope_max = float(np.polyfit(lx, np.log([u[2] for u in usable]), 1)[0])
            grow = CREMAD_CLIPS / usable[-1][0]
            row["slope"] = slope
            row["sum s@1.0 (extrap.)"] = usable[-1][1] * grow**slope
            row["max job s@1.0 (extrap.)"] = usable[-1][2] * grow**slope_max
            rss_slope = float(np.polyfit(lx, np.log([max(u[3], 1.0) for u in usable]), 1)[0])
            row["peak RSS MB@1.0 (extrap.)"] = usable[-1][3] * grow**rss_slope
        rows.append(row)
    header = "## Growth with the corpus (clips: " + ", ".join(f"{s} -> {results[s][0]}" for s in scales) + ")\n\n"
    note = ("\nslope: d log(wall s sum) / d log(clips) (1 = linear, 2 = quadratic); extrapolations multiply the "
            "largest scale's value by (7442 / its clips)^slope of that column.\n")  # fmt: skip
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
    t0 = time.perf_counter()
    write_corpus(plan, workdir / "corpus", args.seed)
    write_config(workdir, args.classifiers)
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
    rules = {rule for rule, _ in after}
    if not rules <= POST_EMBEDDING_RULES:
        raise SystemExit(f"after writing the embeddings, the dry run still schedules "
                         f"{sorted(rules - POST_EMBEDDING_RULES)} (see {logs / 'dry-run-after.log'})")  # fmt: skip
    info["setup"] = (f"corpus {t_corpus:.0f}, check_clips+manifest+folds {t_data:.0f}, "
                     f"written instead of run: {counts} in {t_fake:.0f}")  # fmt: skip
    info["post_embedding_jobs"] = len(after) - 1
    planned = pd.Series([rule for rule, _ in after if rule != "all"]).value_counts()
    info["planned_jobs"] = {rule: int(n) for rule, n in sorted(planned.items())}
    say(f"scale {scale}: {info['setup']}; running {info['post_embedding_jobs']} post-embedding jobs ...")
    info["load"] = f"{os.getloadavg()[0]:.1f}"
    info_file.write_text(json.dumps(info, indent=2))
    timeout = args.timeout_min * 60 if args.timeout_min else None
    cmd = snakemake_cmd(workdir, "--cores", str(args.cores), *extra)
    code, seconds, timed_out = 0, 0.0, False
    if args.fold_first:  # fold 0 of every classifier first: a time-boxed run still measures each classifier
        first = [o for rule, outs in after if rule == "train" for o in outs if "/fold-0/predictions.tsv" in o]
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
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ser-scale"), help="one folder scale-<s> per scale")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--classifiers", nargs="+", help="run.classifiers (default: config.yaml's, i.e. all)")
    parser.add_argument("--timeout-min", type=float, help="stop a scale's run after this many minutes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-fold-first", dest="fold_first", action="store_false",
                        help="run the DAG in Snakemake's order (default: fold 0 of every classifier first)")
    parser.add_argument("--report-only", action="store_true", help="only print the tables of existing runs")
    args = parser.parse_args(own)
    results, failed = {}, False
    for scale in args.scale:
        workdir = args.workdir.resolve() / f"scale-{scale:g}"
        info = run_scale(scale, workdir, args, extra)
        report = scale_report(workdir, info)
        (workdir / "scale-report.md").write_text(report, encoding="utf-8")
        print(report, flush=True)
        bench = read_benchmarks(workdir)
        if info.get("clips") and not bench.empty:
            results[scale] = (int(info["clips"]), bench)
        failed |= str(info.get("status", "complete")).startswith("failed")
    if len(results) >= 2:
        growth = growth_report(results)
        (args.workdir / "growth.md").write_text(growth, encoding="utf-8")
        print(growth, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a plan job's CPU time goes: one fold's make_plan under cProfile, CPU time as its clock.

Reads a workflow run's embeddings, manifest and folds (e.g. a ``benchmarks/scale.py`` folder after
``--timeout-min 0.1``, which writes the corpus, its embeddings and folds.tsv) and makes the plan of
one fold in this process, on one thread (the probe's inner splits one after another), with the
``features`` settings of the run's config (``scale.yaml``, else config.yaml's). Prints the
decisions, the CPU seconds, and the functions with the most cumulative CPU time.

    python benchmarks/plan_profile.py WORKDIR [--encoder scale] [--fold 0] [--top 25] [--out plan.prof] [--plan plan.json]
    OPENBLAS_NUM_THREADS=1 python benchmarks/plan_profile.py WORKDIR --fold 0 --no-profile

``--no-profile`` makes the plan without the profiler and prints its CPU and wall seconds and the
process's peak resident memory: run it with two versions of the code side by side (e.g. a ``git
worktree`` of each), one BLAS thread each, to compare them in one run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--encoder", default=None, help="default: the first encoder under results/embeddings")
    parser.add_argument("--fold", default="0")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None, help="also save the raw profile here")
    parser.add_argument("--no-profile", action="store_true", help="no cProfile: CPU, wall and peak memory only")
    parser.add_argument("--plan", type=Path, default=None, help="also write the plan (JSON) here, to compare versions")
    args = parser.parse_args()
    from speech_emotion.train.plan import make_plan

    encoder, config, shards, manifest, folds = run_inputs(args.workdir, args.encoder)
    profile = cProfile.Profile(time.process_time)
    start, cpu = time.time(), time.process_time()
    if not args.no_profile:
        profile.enable()
    plan = make_plan(args.fold, shards, manifest, folds, config["features"], config["augment"]["use"], config["seed"])
    profile.disable()
    print(f"{encoder} fold {args.fold}: {plan.describe()}")
    if args.plan:
        args.plan.write_text(json.dumps(plan.to_json(), indent=1))
    print(f"CPU {time.process_time() - cpu:.0f} s, wall {time.time() - start:.0f} s (one process), "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    if args.no_profile:
        return
    if args.out:
        profile.dump_stats(str(args.out))
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


def run_inputs(workdir: Path, encoder: str | None = None) -> tuple[str, dict, dict, Any, Any]:
    """What a plan of a workflow run in ``workdir`` reads: (the encoder, default the first under
    results/embeddings; the config, config.yaml with the run's scale.yaml over it; its shards, variant
    -> {encoder: files}; manifest; folds)."""
    from speech_emotion.io.tables import read_table

    results = workdir / "results"
    encoder = encoder or next(p.name for p in sorted((results / "embeddings").iterdir()) if p.is_dir())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    own = workdir / "scale.yaml"
    if own.is_file():
        config = _merged(config, yaml.safe_load(own.read_text()) or {})
    shards = {v.name: {encoder: sorted(str(p) for p in v.glob("shard-*.npz"))}
              for v in sorted((results / "embeddings" / encoder).iterdir()) if v.is_dir()}
    return encoder, config, shards, read_table(results / "data" / "manifest.tsv"), read_table(results / "data" / "folds.tsv")


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


if __name__ == "__main__":
    main()

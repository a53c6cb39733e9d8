"""Parity of exported models with the workflow's: the demo's final models on real CREMA-D clips.

Exports each final model of one encoder of a finished demo run (default ``results/models/tiny-wavlm``:
logreg, svm, xgboost, mlp, ensemble; the first export's encoder graph is reused by the others, as
``export --encoders-from`` does) in float32 and with ``--quantize int8``, and labels the 12 real
CREMA-D clips of ``../shared/data/cremad-sample`` with each (speakers from the file names, as
``--speaker-regex '^(\\d+)_'``) and with the workflow model (``load_model(...).probabilities``).
Prints, per classifier: the max |difference| of the probabilities (float32 and int8) and the share
of clips whose label agrees. ``--plain`` also reads each model without its per-speaker
standardisation (a copy whose features.json says ``speaker_norm: false``). ``--int8 SETTING`` (repeatable)
measures other settings of ONNX Runtime's ``quantize_dynamic`` than the export's (``default``;
comma-separated ``per_channel``, ``per_tensor``, ``reduce_range``, ``ops=MatMul+Gemm``, ``weight_only``: ``speech_emotion.predict.export.int8_settings``),
one pair of int8 columns each.

    python benchmarks/onnx_parity.py [--models results/models/tiny-wavlm] [--clips DIR] [--speaker-regex RE] [--plain]
        [--int8 default --int8 per_channel ...] [--out onnx-parity.md]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
SHARED = REPO.parent / "shared"
KINDS = ("logreg", "svm", "xgboost", "mlp", "ensemble")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=Path("results/models/tiny-wavlm"))
    parser.add_argument("--clips", type=Path, default=SHARED / "data" / "cremad-sample" / "AudioWAV")
    parser.add_argument("--speaker-regex", default=r"^(\d+)_", help="speaker of a clip: group 1 of its file name")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--int8", action="append", help="quantize_dynamic settings (repeatable; default: the export's)")
    parser.add_argument("--out", type=Path, default=Path("onnx-parity.md"))
    args = parser.parse_args()
    int8 = args.int8 or ["default"]
    if not args.clips.exists():
        sys.exit(f"needs {args.clips} (the ../shared folder beside the checkout); absent here")
    from speech_emotion import load_model
    from speech_emotion.data.audio import load_audio
    from speech_emotion.predict.export import export_model, int8_settings

    clips = sorted(args.clips.rglob("*.wav"))  # a corpus in folders too (URDU: one per emotion)
    signals = [load_audio(clip, 16000) for clip in clips]
    speakers = [re.match(args.speaker_regex, clip.name).group(1) for clip in clips]
    weights = args.models.resolve().parents[2] / "resources/models" / args.models.name
    names = ["int8" if setting == "default" and len(int8) == 1 else f"int8 {setting}" for setting in int8]
    lines = ["| classifier | speaker standardisation | float32: max abs diff | float32: labels agree | "
             + " | ".join(f"{name}: max abs diff | {name}: labels agree" for name in names) + " |",
             "|---|---|---:|---:|" + "---:|---:|" * len(int8)]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        first = None
        for kind in KINDS:
            variants = [("per speaker", args.models / kind)]
            if args.plain:
                plain = root / f"{kind}-plain-model"
                shutil.copytree(args.models / kind, plain)
                spec = json.loads((plain / "features.json").read_text())
                (plain / "features.json").write_text(json.dumps(spec | {"speaker_norm": False}))
                variants.append(("off (features.json edited)", plain))
            for norm, model_dir in variants:
                encoder_dir = None if model_dir.is_relative_to(args.models) else weights
                workflow = load_model(model_dir, device="cpu", encoder_dir=encoder_dir)
                who = speakers if workflow.needs_speakers else None
                expected = workflow.probabilities(signals, who)
                cells = []
                for i, setting in enumerate([None, *int8]):
                    quantize = "int8" if setting else None
                    out = root / f"{kind}-{norm[:3]}-{i}"
                    export_model(model_dir, out, quantize, encoder_dir, encoders_from=first,
                                 int8=int8_settings(setting) if setting else None)
                    first = first or out
                    got = load_model(out).probabilities(signals, who)
                    agree = float((got.argmax(1) == expected.argmax(1)).mean())
                    cells += [f"{np.abs(got - expected).max():.1e}", f"{agree:.0%}" if len(clips) < 100 else f"{agree:.1%}"]
                lines.append(f"| {kind} | {norm} | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

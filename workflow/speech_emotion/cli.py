"""Command line: ``speech-emotion predict --model results/models/<encoder>/<classifier> a.wav dir/ ...``.

Loads the encoder and the classifier once, then prints one row per file: the predicted label and
the probability of every label (TSV, or JSON with ``--format json``). A file that cannot be read
gets an error row naming the problem; the others are still labelled, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif", ".opus"}
log = logging.getLogger("speech_emotion.predict")


def expand_inputs(inputs: Sequence[str]) -> list[Path]:
    """Files as given; folders -> their audio files (recursive, sorted)."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            out.append(path)
    return out


def resolve_encoder_dir(model_path: Path, info: dict[str, Any], override: str | None) -> str | None:
    """Where the encoder weights are: --encoder-dir, else model.json's model_dir as given (absolute or
    relative to the current folder), else relative to the workflow folder that made the model
    (``<workdir>/results/models/<encoder>/<classifier>``)."""
    encoder = info["encoder"]
    if encoder["spec"]["kind"] != "hf":
        return None
    if override:
        return override
    recorded = encoder.get("model_dir") or encoder["spec"].get("model")
    candidates = [Path(recorded)]
    if not Path(recorded).is_absolute():
        parents = model_path.resolve().parents
        if len(parents) > 3:
            candidates.append(parents[3] / recorded)
    for candidate in candidates:
        if (candidate / "config.json").is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"encoder weights for '{encoder['name']}' not found (looked in {', '.join(map(str, candidates))}); "
        "pass --encoder-dir"
    )


class Predictor:
    """A final model folder with its encoder, loaded once."""

    def __init__(self, model_path: str | Path, device: str = "auto", encoder_dir: str | None = None):
        from .embeddings import make_encoder
        from .training import load_final_model

        self.final = load_final_model(model_path)
        info = self.final.info
        self.audio = info.get("audio", {})
        self.sample_rate = int(self.audio.get("sample_rate", 16000))
        folder = resolve_encoder_dir(Path(model_path), info, encoder_dir)
        self.encoder = make_encoder(info["encoder"]["spec"], folder, device, self.sample_rate)

    @property
    def labels(self) -> list[str]:
        return self.final.labels

    def embed(self, signals: list[np.ndarray]) -> np.ndarray:
        from .embeddings import embed_signals

        return embed_signals(self.encoder, signals, float(self.audio.get("batch_seconds", 120.0)),
                             self.audio.get("max_seconds"), progress_every=1e9)

    def predict_signals(self, signals: list[np.ndarray]) -> np.ndarray:
        """Probabilities (clips, labels) in the order of :attr:`labels`."""
        from .layers import select

        features = select(self.embed(signals), self.final.layers)
        probs = self.final.model.predict_proba(features)
        out = np.zeros((len(signals), len(self.labels)))
        for j, label in enumerate(self.final.model.classes_):
            out[:, self.labels.index(str(label))] = probs[:, j]
        return out

    def predict_files(self, paths: Sequence[Path], batch: int = 16) -> list[dict[str, Any]]:
        """One result per file: ``{file, label, probabilities}`` or ``{file, error}``."""
        from .audio import AudioError, load_audio

        results: list[dict[str, Any]] = []
        for start in range(0, len(paths), batch):
            chunk = list(paths[start : start + batch])
            rows: dict[int, dict[str, Any]] = {}
            good: list[tuple[int, np.ndarray]] = []
            for i, path in enumerate(chunk):
                try:
                    good.append((i, load_audio(path, self.sample_rate)))
                except AudioError as exc:
                    rows[i] = {"file": str(path), "error": exc.reason}
                except Exception as exc:  # noqa: BLE001 - report and carry on with the other files
                    rows[i] = {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}
            if good:
                try:
                    probs = self.predict_signals([s for _, s in good])
                    for (i, _), p in zip(good, probs):
                        rows[i] = self._row(chunk[i], p)
                except Exception:  # noqa: BLE001 - one bad clip must not sink the batch: retry one by one
                    for i, signal in good:
                        try:
                            rows[i] = self._row(chunk[i], self.predict_signals([signal])[0])
                        except Exception as exc:  # noqa: BLE001
                            rows[i] = {"file": str(chunk[i]), "error": f"cannot embed: {type(exc).__name__}: {exc}"}
            results += [rows[i] for i in range(len(chunk))]
        return results

    def _row(self, path: Path, probs: np.ndarray) -> dict[str, Any]:
        return {
            "file": str(path),
            "label": self.labels[int(np.argmax(probs))],
            "probabilities": {label: round(float(p), 6) for label, p in zip(self.labels, probs)},
        }


def write_results(results: list[dict[str, Any]], labels: Sequence[str], fmt: str, out: TextIO) -> None:
    """TSV (file, label, prob_<label>..., error) or a JSON list."""
    if fmt == "json":
        json.dump(results, out, indent=2)
        out.write("\n")
        return
    out.write("\t".join(["file", "label", *[f"prob_{label}" for label in labels], "error"]) + "\n")
    for row in results:
        if "error" in row:
            cells = [row["file"], "", *[""] * len(labels), row["error"].replace("\t", " ").replace("\n", " ")]
        else:
            cells = [row["file"], row["label"], *[f"{row['probabilities'][label]:.6f}" for label in labels], ""]
        out.write("\t".join(cells) + "\n")


def predict_main(args: argparse.Namespace) -> int:
    from .classifiers import ModelFileError

    paths = expand_inputs(args.inputs)
    if not paths:
        print("speech-emotion predict: no audio files found in the inputs", file=sys.stderr)
        return 2
    try:
        predictor = Predictor(args.model, args.device, args.encoder_dir)
    except (ModelFileError, FileNotFoundError, ValueError) as exc:
        print(f"speech-emotion predict: cannot load the model: {exc}", file=sys.stderr)
        return 2
    results = predictor.predict_files(paths)
    write_results(results, predictor.labels, args.format, sys.stdout)
    failed = [r for r in results if "error" in r]
    for row in failed:
        print(f"speech-emotion predict: {row['file']}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speech-emotion", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    predict = sub.add_parser("predict", help="label audio files with a trained final model")
    predict.add_argument("--model", required=True, help="final model folder: results/models/<encoder>/<classifier>")
    predict.add_argument("--format", choices=["tsv", "json"], default="tsv")
    predict.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    predict.add_argument("--encoder-dir", default=None, help="encoder weights folder (default: the one the model records)")
    predict.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    predict.set_defaults(func=predict_main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""One lbfgs logistic regression at CREMA-D's shape with the BLAS libraries' default threads and on one.

    python benchmarks/blas_threads.py [--rows 4800] [--layers 1] [--repeats 3]

Builds the scale benchmark's synthetic WavLM-Large features (benchmarks/scale.py: class- and
speaker-structured, 2,048 values per layer) for ``--rows`` clips of the 91-speaker corpus (4,800 is an
inner training split of a CREMA-D fold), standardises them, and fits the probe's logistic regression
(class-balanced, C=1, lbfgs, max_iter 500) in turns: with whatever thread count the BLAS libraries
start with (every core) and inside :func:`speech_emotion.devices.single_blas_thread`. Prints each
fit's wall time, the medians and their ratio, the libraries threadpoolctl sees, and whether the two
fits' coefficients agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "workflow"))

import scale  # noqa: E402
from speech_emotion.devices import single_blas_thread  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4800)
    parser.add_argument("--layers", type=int, default=1, help="adjacent layers concatenated (from the peak)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_info

    corpus = scale.plan_corpus(1.0).sample(args.rows, random_state=0)
    features = scale.FeatureModel().features(corpus["clip_id"].tolist(), corpus["speaker"].tolist(),
                                             corpus["label"].tolist())
    X = StandardScaler().fit_transform(features[:, 15:15 + args.layers].reshape(args.rows, -1)).astype(np.float32)
    y = corpus["label"].to_numpy()
    del features
    print(f"{X.shape[0]} rows x {X.shape[1]} features, {len(np.unique(y))} classes")
    for lib in threadpool_info():
        print(f"  {lib['user_api']:6s} {lib['internal_api']:9s} {lib['num_threads']} threads  {Path(lib['filepath']).name}")

    def fit() -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500, random_state=0).fit(X, y)
        return time.perf_counter() - start, model.coef_

    settings = {"default threads": nullcontext, "one BLAS thread": single_blas_thread}
    times: dict[str, list[float]] = {name: [] for name in settings}
    coefs = {}
    for repeat in range(args.repeats):
        for name, setting in settings.items():
            with setting():
                seconds, coefs[name] = fit()
            times[name].append(seconds)
            print(f"  repeat {repeat}: {name}: {seconds:.2f} s")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name}: median {value:.2f} s")
    print(f"ratio default / one thread: {medians['default threads'] / medians['one BLAS thread']:.1f}")
    diff = float(np.max(np.abs(coefs["default threads"] - coefs["one BLAS thread"])))
    print(f"largest coefficient difference between the two: {diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The torch device a job runs on, the one CPU thread setting that keeps numbers reproducible
(shared by the encoders and the MLP classifier) and the BLAS setting of the iterative linear solvers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


def resolve_device(device: str, key: str) -> str:
    """``auto`` -> ``cuda`` when this process sees a GPU, else ``cpu``; ``key`` names the config key."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{key} is 'cuda' but no CUDA device is visible to this job")
    return device


@contextmanager
def single_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op CPU thread, then restore the previous setting.

    A float sum split over more threads is added up in another order, so numbers would depend on
    ``--cores`` and ``*.threads`` (the MLP's probabilities moved by up to 3e-4 between 1 and 2
    threads; 13 of 7,680 float16 embedding values of a small WavLM changed). On one thread they do
    not; parallelism comes from jobs, inner folds and batches run side by side instead.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@cache
def _blas_controller() -> Any:
    import scipy.optimize  # noqa: F401  the solver's own BLAS must be loaded before the libraries are listed
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # listing the loaded libraries takes ~20 ms: once per process


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the BLAS libraries (numpy's and scipy's OpenBLAS, MKL) on one thread, then restore them.

    For the lbfgs logistic regressions of the probe and the classifier, and the learned layer
    weighting (:func:`speech_emotion.train.weighting.learn_layer_weights`, whose results also moved in
    their last bits with the number of BLAS threads at WavLM-Large's width). scipy's L-BFGS-B calls its
    own OpenBLAS for small vector operations between numpy's matrix products; with two threads in
    each pool the two libraries' spinning threads fight over the cores: one fit at CREMA-D's shape
    (4,800 x 2,048, 6 classes) took 3.6 s with the default two threads and 1.15 s on one, on an idle
    2-core machine, and about 9 times longer when another job shared the cores
    (``python benchmarks/blas_threads.py``). Parallelism comes from inner folds run side by side.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield

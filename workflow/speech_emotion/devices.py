"""The torch device a job runs on, and the one CPU thread setting that keeps numbers reproducible
(shared by the encoders and the MLP classifier)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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

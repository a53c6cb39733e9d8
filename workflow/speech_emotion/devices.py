"""The torch device a job runs on (shared by the encoders and the MLP classifier)."""

from __future__ import annotations


def resolve_device(device: str, key: str) -> str:
    """``auto`` -> ``cuda`` when this process sees a GPU, else ``cpu``; ``key`` names the config key."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{key} is 'cuda' but no CUDA device is visible to this job")
    return device

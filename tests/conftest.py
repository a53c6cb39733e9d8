"""Shared test fixtures: offline Hugging Face, the repository root, and ../shared data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "workflow"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared folder beside the checkout); absent here")
    return path


@pytest.fixture
def repo() -> Path:
    return REPO


def run_snakemake(workdir: Path, *args: str, timeout: int = 3000) -> "subprocess.CompletedProcess[str]":
    """Run this repository's workflow in ``workdir`` (outputs land in ``workdir/results``)."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), *args],
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One complete run of the demo profile, shared by every test that needs its outputs.

    Tests must not modify it; copy it (shutil.copytree) to change anything.
    """
    workdir = tmp_path_factory.mktemp("demo-run")
    result = run_snakemake(workdir, "--cores", "2", "--workflow-profile", str(REPO / "profiles" / "demo"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return workdir

"""Atomic writes and the start-up check for truncated cache archives."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from speech_emotion.io.files import atomic_path, find_corrupt, write_text_atomic, zip_problem


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "x.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_write_has_usual_permissions(tmp_path):
    target = tmp_path / "x.txt"
    write_text_atomic(target, "hello\n")
    assert target.read_text() == "hello\n"
    mode = stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_truncated_archives_are_found(tmp_path):
    good = tmp_path / "embeddings" / "good.npz"
    bad = tmp_path / "embeddings" / "bad.npz"
    good.parent.mkdir()
    np.savez(good, a=np.arange(1000))
    np.savez(bad, a=np.arange(1000))
    bad.write_bytes(bad.read_bytes()[:300])
    (tmp_path / "embeddings" / ".tmp-partial.npz").write_bytes(b"in progress")
    assert zip_problem(good) is None
    assert "not a complete archive" in zip_problem(bad)
    found = find_corrupt([tmp_path / "embeddings", tmp_path / "absent"])
    assert [path.name for path, _ in found] == ["bad.npz"]

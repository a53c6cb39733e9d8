"""The synthetic demo corpus: layout, determinism, and emotion cues a classifier can find."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import soundfile as sf

from speech_emotion.data.demo import EMOTIONS, SENTENCES, make_demo_corpus


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.wav"))}


def test_layout_and_demographics(tmp_path):
    count = make_demo_corpus(tmp_path / "AudioWAV", tmp_path / "demo.csv", seed=1, speakers=3)
    assert count == 3 * len(EMOTIONS) * len(SENTENCES) == 72
    names = sorted(p.stem for p in (tmp_path / "AudioWAV").glob("*.wav"))
    assert names[0] == "1001_DFA_ANG_XX" and names[-1] == "1003_TIE_SAD_XX"
    demographics = pd.read_csv(tmp_path / "demo.csv")
    assert list(demographics.columns) == ["ActorID", "Age", "Sex", "Race", "Ethnicity"]
    assert demographics["ActorID"].tolist() == [1001, 1002, 1003]
    audio, rate = sf.read(tmp_path / "AudioWAV" / "1002_ITH_NEU_XX.wav")
    assert rate == 16000 and audio.ndim == 1 and 0.8 < len(audio) / rate < 4.0


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    make_demo_corpus(tmp_path / "a", tmp_path / "a.csv", seed=7, speakers=2)
    make_demo_corpus(tmp_path / "b", tmp_path / "b.csv", seed=7, speakers=2)
    make_demo_corpus(tmp_path / "c", tmp_path / "c.csv", seed=8, speakers=2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_emotions_differ_in_loudness_and_rate(tmp_path):
    make_demo_corpus(tmp_path / "w", tmp_path / "w.csv", seed=3, speakers=4)

    def mean_of(emotion, measure):
        values = []
        for path in (tmp_path / "w").glob(f"*_{emotion}_XX.wav"):
            audio, rate = sf.read(path)
            values.append(measure(audio, rate))
        return float(np.mean(values))

    rms = lambda audio, rate: float(np.sqrt(np.mean(audio**2)))  # noqa: E731
    seconds = lambda audio, rate: len(audio) / rate  # noqa: E731
    assert mean_of("ANG", rms) > 2 * mean_of("SAD", rms)
    assert mean_of("SAD", seconds) > 1.3 * mean_of("ANG", seconds)

"""A small SYNTHETIC corpus in CREMA-D's layout for the offline demo.

Each clip is a sequence of voiced "syllables" (a harmonic source shaped by two formant-like
resonances) whose pitch, pitch movement, loudness, speaking rate and spectral tilt depend on the
emotion, on top of a per-speaker voice. A classifier has something to find, but the corpus says
nothing about real emotional speech: scores on it only show that the pipeline runs.

The generator also knows each clip's ``arousal`` (:func:`arousal`), a continuous target made from the
loudness and speaking rate the clip was synthesised with (its emotion's and its own random part), so
a regressor has something to find too; ``make_demo_corpus(..., targets_csv=...)`` writes it
(clip_id, arousal), for ``dataset.targets: {arousal: {column: arousal, table: <that file>}}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..io.files import atomic_path, write_atomic

EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
SENTENCES = {"DFA": 5, "IEO": 6, "ITH": 7, "TIE": 8}  # sentence code -> syllables


@dataclass(frozen=True)
class Style:
    """Emotion-dependent prosody, relative to the speaker's voice."""

    pitch: float  # multiplies the speaker's f0
    pitch_range: float  # semitones of movement within a syllable
    loudness: float  # linear amplitude
    rate: float  # syllables per second
    tilt: float  # spectral tilt of the source in dB per octave (more negative = darker)
    jitter: float  # relative random f0 perturbation


STYLES = {
    "ANG": Style(pitch=1.30, pitch_range=3.0, loudness=0.80, rate=5.5, tilt=-3.0, jitter=0.02),
    "DIS": Style(pitch=0.95, pitch_range=1.5, loudness=0.45, rate=3.2, tilt=-9.0, jitter=0.02),
    "FEA": Style(pitch=1.45, pitch_range=2.0, loudness=0.40, rate=5.8, tilt=-8.0, jitter=0.06),
    "HAP": Style(pitch=1.35, pitch_range=5.0, loudness=0.65, rate=5.0, tilt=-5.0, jitter=0.02),
    "NEU": Style(pitch=1.00, pitch_range=1.0, loudness=0.50, rate=4.2, tilt=-7.0, jitter=0.01),
    "SAD": Style(pitch=0.85, pitch_range=0.8, loudness=0.25, rate=2.8, tilt=-13.0, jitter=0.015),
}


def _rng(seed: int, *keys: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join([str(seed), *keys]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _resonate(signal: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    """Two-pole resonator (a formant)."""
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * freq / rate
    return lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], signal)


NEUTRAL = STYLES["NEU"]
TARGETS_COLUMNS = ["clip_id", "arousal"]


def arousal(loudness: float, syllable_rate: float) -> float:
    """The demo's arousal in (-1, 1): ``tanh(log2(loudness / 0.5) + log2(rate / 4.2))``, 0 for the
    neutral style's loudness (0.5) and rate (4.2 syllables per second), louder and faster higher (the
    angry style about 0.8, the sad one about -0.9)."""
    return float(np.tanh(np.log2(loudness / NEUTRAL.loudness) + np.log2(syllable_rate / NEUTRAL.rate)))


def synth_clip(f0: float, formant_shift: float, emotion: str, syllables: int, rng: np.random.Generator,
               rate: int = 16000, realised: dict[str, float] | None = None) -> np.ndarray:
    """One synthetic utterance, float32 in [-1, 1]. ``realised``, when given, receives the clip's
    ``loudness`` (peak amplitude before clipping) and ``syllable_rate`` (syllables per second of its
    drawn syllable lengths); they do not change the audio."""
    style = STYLES[emotion]
    pieces = [np.zeros(int(0.15 * rate))]
    periods = []
    for _ in range(syllables):
        dur = max(0.08, rng.normal(1.0 / style.rate, 0.15 / style.rate)) * 0.8
        periods.append(dur / 0.8)
        n = int(dur * rate)
        t = np.arange(n) / rate
        base = f0 * style.pitch * np.exp(rng.normal(0, 0.04))
        contour = 2 ** (style.pitch_range * (np.sin(np.pi * t / dur) - 0.3) / 12)
        freq = base * contour * (1 + style.jitter * rng.standard_normal(n).cumsum() / np.sqrt(n))
        phase = 2 * np.pi * np.cumsum(freq) / rate
        source = np.zeros(n)
        for h in range(1, 25):
            gain = 10 ** (style.tilt * np.log2(h) / 20)
            source += gain * np.sin(h * phase) * (h * base < rate / 2 - 500)
        vowel = rng.integers(0, 3)
        f1, f2 = ((700, 1200), (400, 2200), (550, 900))[vowel]
        voiced = _resonate(source, f1 * formant_shift, 90, rate) + 0.6 * _resonate(source, f2 * formant_shift, 120, rate)
        envelope = np.sin(np.pi * t / dur) ** 0.7
        pieces.append(voiced * envelope)
        pieces.append(np.zeros(int(abs(rng.normal(0.06, 0.02)) * rate / style.rate * 4)))
    pieces.append(np.zeros(int(0.15 * rate)))
    clip = np.concatenate(pieces)
    loudness = style.loudness * np.exp(rng.normal(0, 0.1))
    clip = clip / (np.max(np.abs(clip)) + 1e-9) * loudness
    if realised is not None:
        realised.update(loudness=float(loudness), syllable_rate=float(1.0 / np.mean(periods)))
    clip += rng.normal(0, 0.002, len(clip))  # a little background noise
    return np.clip(clip, -1, 1).astype(np.float32)


def make_demo_corpus(out_dir: str | Path, demographics_csv: str | Path, seed: int = 42, speakers: int = 10,
                     sample_rate: int = 16000, targets_csv: str | Path | None = None) -> int:
    """Write ``speakers`` x 6 emotions x 4 sentences WAV files named like CREMA-D; return the count.
    ``targets_csv``: also write each clip's :func:`arousal` there (columns clip_id, arousal); the audio
    and the demographics are the same with or without it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    targets = []
    count = 0
    for s in range(speakers):
        actor = 1001 + s
        sex = "Male" if s % 2 == 0 else "Female"
        voice = _rng(seed, "voice", str(actor))
        f0 = (115.0 if sex == "Male" else 205.0) * np.exp(voice.normal(0, 0.08))
        formant_shift = (1.0 if sex == "Male" else 1.15) * np.exp(voice.normal(0, 0.04))
        rows.append({"ActorID": actor, "Age": int(voice.integers(20, 70)), "Sex": sex,
                     "Race": "Unknown", "Ethnicity": "Unknown"})
        for sentence, syllables in SENTENCES.items():
            for emotion in EMOTIONS:
                name = f"{actor}_{sentence}_{emotion}_XX"
                realised: dict[str, float] = {}
                clip = synth_clip(f0, formant_shift, emotion, syllables, _rng(seed, name), sample_rate, realised)
                targets.append({"clip_id": name, "arousal": round(arousal(**realised), 6)})
                with atomic_path(out_dir / f"{name}.wav") as tmp:
                    sf.write(tmp, clip, sample_rate, subtype="PCM_16", format="WAV")
                count += 1
    frame = pd.DataFrame(rows)
    write_atomic(demographics_csv, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
    if targets_csv is not None:
        table = pd.DataFrame(targets, columns=TARGETS_COLUMNS).sort_values("clip_id")
        write_atomic(targets_csv, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    return count

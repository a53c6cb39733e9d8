"""Peak memory of `speech-emotion predict` on a 30-minute file against a short clip (issue 32 item 5).

    python benchmarks/predict_long_file.py --model results/models/tiny-wavlm/logreg   # after the demo

Each case runs in a process of its own and reports that process's peak resident memory (ru_maxrss of
the child): a short clip; the 30-minute file without --segment (refused in its row before it is
read); the same file with --segment fixed (read in blocks); and, for contrast, the file labelled whole
with the limit lifted (--max-file-seconds 0). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf


def write_audio(path: Path, seconds: float, rate: int = 16000) -> Path:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        left = seconds
        while left > 0:
            n = int(min(left, 60.0) * rate)
            t = np.arange(n) / rate
            handle.write((0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.normal(size=n)).astype(np.float32))
            left -= 60.0
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        short = write_audio(Path(tmp) / "short.wav", 3.0)
        long = write_audio(Path(tmp) / "long.wav", args.minutes * 60)
        base = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", args.model, "--no-speakers"]
        cases = [("short clip (3 s)", [str(short)]),
                 (f"{args.minutes:g}-minute file, no --segment (refused)", [str(long)]),
                 (f"{args.minutes:g}-minute file, --segment fixed", ["--segment", "fixed", str(long)]),
                 (f"{args.minutes:g}-minute file whole (--max-file-seconds 0)", ["--max-file-seconds", "0", str(long)])]
        rows = []
        for name, extra in cases:  # each in a fresh parent, so that ru_maxrss is this child's alone
            code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
            out = subprocess.run([sys.executable, "-c", code, *base, *extra], capture_output=True, text=True, check=True)
            kb, rc = out.stdout.split()
            rows.append((name, int(kb) / 1024, int(rc)))
    print("| case | peak memory (MB) | exit code |\n|---|---|---|")
    for name, mb, rc in rows:
        print(f"| {name} | {mb:.0f} | {rc} |")


if __name__ == "__main__":
    main()

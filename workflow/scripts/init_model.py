"""Rule init_model: random weights from a shipped config (fixed seed) -> resources/models/{encoder}."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from speech_emotion.embed import emotion2vec  # noqa: E402
from speech_emotion.embed.encoders import init_model  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
with tempfile.TemporaryDirectory() as folder:
    for name, text in params.configs.items():
        (Path(folder) / name).write_text(text, encoding="utf-8")
    if "config.yaml" in params.configs:  # kind emotion2vec (FunASR layout)
        emotion2vec.init_model(Path(folder) / "config.yaml", snakemake.output[0], params.seed, params.name)  # noqa: F821
    else:
        init_model(Path(folder) / "config.json", snakemake.output[0], params.seed, params.name)  # noqa: F821
log.info("random-initialised %s (seed %d)", snakemake.wildcards.encoder, params.seed)  # noqa: F821

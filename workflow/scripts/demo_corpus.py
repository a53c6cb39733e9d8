"""Rule demo_corpus: write the synthetic demo corpus and its clips' arousal (targets.csv)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.demo import make_demo_corpus  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
output = snakemake.output  # noqa: F821
count = make_demo_corpus(output.audio, output.demographics, seed=snakemake.params.seed,  # noqa: F821
                         targets_csv=output.targets)
log.info("wrote %d synthetic clips to %s", count, output.audio)

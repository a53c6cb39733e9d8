"""Rule augment: copy {n} of one shard's accepted clips -> results/audio/aug{n}/shard-{shard}.npz."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.augment.transforms import augment_shard  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

job_log(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
augment_shard(
    shard_table=snakemake.input[0],  # noqa: F821
    clip_ids=list(params.clip_ids),
    copy=int(params.copy_index),
    transforms=params.transforms,
    seed=int(params.seed),
    sample_rate=int(params.sample_rate),
    output=snakemake.output[0],  # noqa: F821
)

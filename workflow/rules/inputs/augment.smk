# Input functions and constants of augment.smk (functions live apart from rules: snakemake --lint).
from speech_emotion.augment.transforms import check_per_class_labels, clips_needing_copy, transform_config  # noqa: E402

try:
    # only the transforms: changing `copies` must not change the params of existing copies
    AUG_TRANSFORMS = transform_config(config["augment"])
except ValueError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None


def augment_shard_table(wildcards):
    """check_clips' table of the shard (after the corpus is known: params need it)."""
    frame = corpus()
    n = int(wildcards.n)
    if not 1 <= n <= AUG_COPIES:
        raise WorkflowError(f"aug{n} does not exist: augment.copies gives aug1..aug{AUG_COPIES}")
    try:
        check_per_class_labels(config["augment"], frame["label"].unique())
    except ValueError as exc:
        raise WorkflowError(str(exc)) from None
    return SHARD_TABLE.format(corpus_dir="", shard=wildcards.shard)


def augment_clip_ids(wildcards):
    """Clip ids of the shard that get copy n: unchanged for existing n when `copies` grows."""
    return clips_needing_copy(shard_rows(wildcards), int(wildcards.n), config["augment"])


def augment_targets():
    return expand(AUDIO, variant=AUG_VARIANTS, shard=SHARDS)

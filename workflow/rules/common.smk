# Config validation, constants and every input function of the workflow.
import functools
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("8.20")

WORKFLOW_DIR = Path(workflow.basedir)
sys.path.insert(0, str(WORKFLOW_DIR / "workflow"))

from speech_emotion.cache import find_corrupt  # noqa: E402
from speech_emotion.config import ConfigError, check_config, coerce_to_schema, load_schema  # noqa: E402
from speech_emotion.datasets import DatasetError, list_corpus  # noqa: E402
from speech_emotion.shards import shard_of  # noqa: E402

SCHEMA = WORKFLOW_DIR / "workflow" / "schemas" / "config.schema.yaml"
_coerced = coerce_to_schema(dict(config), load_schema(SCHEMA))
config.clear()
config.update(_coerced)
validate(config, str(SCHEMA))
try:
    check_config(config, Path.cwd())
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None


# A cached file that was truncated or overwritten (by hand, a full disk, a killed copy) is removed
# here, before the DAG is built, so Snakemake rebuilds exactly that file (and what depends on it).
if workflow.is_main_process:
    for _path, _problem in find_corrupt(["results/audio", "results/embeddings", "results/cv", "results/models"]):
        logger.warning(f"Corrupt cached file {_path}: {_problem}. Removing it so that it is rebuilt.")
        _path.unlink()


wildcard_constraints:
    encoder=r"[^/]+",
    classifier=r"[a-z]+",
    variant=r"clean|aug\d+",
    shard=r"\d+",
    fold=r"\d+",


SHARDS = list(range(config["embed"]["shards"]))
FOLDS = list(range(config["cv"]["folds"]))

# Each rule file appends a function returning the targets it adds to `rule all`.
TARGETS = []


def all_targets(wildcards):
    return [target for targets in TARGETS for target in targets()]


def shipped(*parts):
    """A file shipped with the workflow (found relative to the Snakefile, not the working dir)."""
    return str(WORKFLOW_DIR / "resources" / Path(*parts))


# --- dataset -------------------------------------------------------------------------------------
CREMAD_DOWNLOAD_DIR = "resources/cremad"
DEMO_DIR = "results/demo"


def dataset_spec():
    """config['dataset'] with `source: download|demo` replaced by the folder the rule fills."""
    spec = dict(config["dataset"])
    if spec["kind"] == "cremad":
        source = spec.get("source") or "download"
        if source == "download":
            spec.update(
                source=f"{CREMAD_DOWNLOAD_DIR}/AudioWAV",
                demographics=f"{CREMAD_DOWNLOAD_DIR}/VideoDemographics.csv",
                perception=f"{CREMAD_DOWNLOAD_DIR}/summaryTable.csv",
            )
        elif source == "demo":
            spec.update(source=f"{DEMO_DIR}/AudioWAV", demographics=f"{DEMO_DIR}/VideoDemographics.csv")
    return spec


@functools.lru_cache(maxsize=None)
def corpus():
    """Every candidate clip of the corpus (clip_id, path, speaker, label, extras, shard).

    Built from file names or the manifest CSV without opening audio, so it is cheap at start-up;
    when the corpus is made by a rule (download, demo) its checkpoint is awaited first.
    """
    source = config["dataset"].get("source")
    if config["dataset"]["kind"] == "cremad" and source == "download":
        checkpoints.download_cremad.get()
    elif config["dataset"]["kind"] == "cremad" and source == "demo":
        checkpoints.demo_corpus.get()
    try:
        frame = list_corpus(dataset_spec(), Path.cwd())
    except DatasetError as exc:
        raise WorkflowError(str(exc)) from None
    frame["shard"] = [shard_of(clip_id, len(SHARDS)) for clip_id in frame["clip_id"]]
    return frame


def shard_rows(wildcards):
    frame = corpus()
    return frame[frame["shard"] == int(wildcards.shard)]


def shard_audio(wildcards):
    """The audio files of one shard: a clip added or changed reruns only its shard."""
    return shard_rows(wildcards)["path"].tolist()


def shard_clips(wildcards):
    """[clip_id, path] pairs of one shard (a params value, so renames rerun the shard)."""
    return shard_rows(wildcards)[["clip_id", "path"]].values.tolist()


def dataset_meta_files(wildcards):
    """Metadata files the manifest joins in: the corpus CSV, or CREMA-D's actor table."""
    spec = dataset_spec()
    key = {"manifest": "manifest", "cremad": "demographics"}.get(spec["kind"])
    return [spec[key]] if key and spec.get(key) else []

# Config loading and validation, constants and the few helpers several rule files share. Each rule file
# begins by including its own stage's input functions (rules/inputs/<stage>.smk); all_targets below is rule all's input.
import functools
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("8.20")

REPO_DIR = Path(workflow.basedir)  # the checkout: Snakefile, workflow/, resources/
sys.path.insert(0, str(REPO_DIR / "workflow"))

from speech_emotion.io.files import corrupt_message, find_corrupt  # noqa: E402
from speech_emotion.config import ConfigError, check_config, coerce_to_schema, load_schema, schema_errors  # noqa: E402
from speech_emotion.data.datasets import DatasetError, list_corpus  # noqa: E402
from speech_emotion.data.targets import target_tables  # noqa: E402
from speech_emotion.embed.shards import shard_of  # noqa: E402
from speech_emotion.layout import (  # noqa: E402  (the results layout: every data product's path pattern)
    AUDIO, CACHE_ROOTS, CLASSIFIER, CLIP_LEVELS, CROSS_MODEL, CROSS_PAIR, CROSS_PLAN, EMBEDDINGS, EXPLAIN_IMPORTANCE,
    EXPLAIN_NUISANCE, EXPLANATIONS, FINAL_FOLD, FOLD, FOLDS, IMPORTANCE, LAYER_PROBE_TABLE, LEADERBOARD, MANIFEST,
    MANIFEST_OF, METRICS, MODEL, NUISANCE, PLAN, PLOTS, REJECTED, REJECTED_OF, SHARD_TABLE, SUMMARY, TARGET_VALUES,
)
from speech_emotion.augment.transforms import max_copies  # noqa: E402
from speech_emotion.data.folds import FIXED_COUNT  # noqa: E402
from speech_emotion.data.splits import fold_list  # noqa: E402
from speech_emotion.rule_code import rule_code  # noqa: E402

SCHEMA = REPO_DIR / "workflow" / "schemas" / "config.schema.yaml"
_schema = load_schema(SCHEMA)
_coerced = coerce_to_schema(dict(config), _schema)
config.clear()
config.update(_coerced)
# Every schema problem at once, one line each with a "did you mean" (Snakemake's validate would print
# the first one with the whole schema and config); validate then fills in the schema's defaults.
_problems = schema_errors(config, _schema)
if _problems:
    raise WorkflowError("\n".join(_problems))
validate(config, str(SCHEMA))
try:
    check_config(config, Path.cwd())
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None


# Cached archives (.npz, .zip) that do not open (truncated by hand, a full disk, a killed copy) are
# named at start-up, reading only, with the command that rebuilds them (docs/reliability.md).
for _path, _problem in find_corrupt(CACHE_ROOTS):
    logger.warning(corrupt_message(_path, _problem))


wildcard_constraints:
    encoder=r"[^/]+",
    corpus_dir=r"(corpora/[^/]+/)?",
    classifier=r"[a-z]+",
    variant=r"clean|aug\d+",
    shard=r"\d+",
    fold=r"\d+",


SHARDS = list(range(config["embed"]["shards"]))


def all_targets(wildcards):
    """The default target's files: manifest and folds, augmented audio, every CV result, final model
    and figure, the explanations, the cross-corpus pairs and the regressions (each stage's *_targets in
    rules/inputs/)."""
    return (data_targets() + augment_targets() + train_targets() + evaluation_targets() + explain_targets()
            + cross_targets() + regression_targets())


# --- corpora -------------------------------------------------------------------------------------
CREMAD_DOWNLOAD_DIR = "resources/cremad"
DEMO_DIR = "results/demo"


def dataset_spec():
    """config['dataset'] with `source: download|demo` replaced by the folder the rule fills, without the
    download's transfer settings (the manifest's params: changing `dataset.download` reruns nothing)
    and without its `name` (which only names it in cross-corpus pairs)."""
    spec = {key: value for key, value in config["dataset"].items() if key not in ("download", "name")}
    if spec["kind"] == "cremad":
        source = spec["source"] or "download"
        if source == "download":
            spec.update(
                source=f"{CREMAD_DOWNLOAD_DIR}/AudioWAV",
                demographics=f"{CREMAD_DOWNLOAD_DIR}/VideoDemographics.csv",
                perception=f"{CREMAD_DOWNLOAD_DIR}/summaryTable.csv",
            )
        elif source == "demo":
            spec.update(source=f"{DEMO_DIR}/AudioWAV", demographics=f"{DEMO_DIR}/VideoDemographics.csv")
    return spec


# The primary corpus (`dataset`, named dataset.name) lives under results/data, results/embeddings ...;
# an extra corpus of `corpora` (cross-corpus runs) under results/corpora/{name}/data, .../embeddings.
# Rules check_clips, manifest and embed serve both: their paths start with results/{corpus_dir},
# corpus_dir being "" for the primary corpus and "corpora/{name}/" for an extra one.
PRIMARY = config["dataset"]["name"]
CORPUS_KEYS = ("kind", "source", "manifest", "root", "speaker_regex", "demographics", "perception")


def corpus_dir(name):
    """The path part after results/ of a corpus's data and embeddings ("" for the primary corpus)."""
    return "" if name == PRIMARY else f"corpora/{name}/"


def corpus_of(wildcards):
    """The corpus a job of check_clips / manifest / embed works on (the primary one without corpus_dir)."""
    part = wildcards.get("corpus_dir", "")
    if not part:
        return PRIMARY
    name = part.split("/")[1]
    if name not in config["corpora"]:
        raise WorkflowError(f"results/{part}: no corpus '{name}' under corpora: in the configuration")
    return name


def corpus_spec(name):
    """What the manifest job lists for a corpus: dataset_spec() for the primary one, else its corpora entry."""
    if name == PRIMARY:
        return dataset_spec()
    return {key: config["corpora"][name].get(key) for key in CORPUS_KEYS}


def corpus(name=None):
    """Every candidate clip of a corpus (clip_id, path, speaker, label, extras, shard); the primary one
    by default.

    Built from file names or the manifest CSV without opening audio, so it is cheap at start-up;
    when the corpus is made by a rule (download, demo) its checkpoint is awaited first.
    """
    return _listed_corpus(PRIMARY if name is None else name)


@functools.lru_cache(maxsize=None)
def _listed_corpus(name):
    where = "dataset" if name == PRIMARY else f"corpora.{name}"
    if name == PRIMARY:
        source = config["dataset"]["source"]
        if config["dataset"]["kind"] == "cremad" and source == "download":
            checkpoints.download_cremad.get()
        elif config["dataset"]["kind"] == "cremad" and source == "demo":
            checkpoints.demo_corpus.get()
    try:
        frame = list_corpus(corpus_spec(name), Path.cwd(), where=where)
    except DatasetError as exc:
        raise WorkflowError(str(exc)) from None
    frame["shard"] = [shard_of(clip_id, len(SHARDS)) for clip_id in frame["clip_id"]]
    return frame


def shard_rows(wildcards):
    frame = corpus(corpus_of(wildcards))
    return frame[frame["shard"] == int(wildcards.shard)]


# --- folds, variants and embeddings every later stage reads ------------------------------------------
@functools.lru_cache(maxsize=8)
def _folds_in(path, stamp):
    import pandas as pd

    return fold_list(pd.read_csv(path, sep="\t", usecols=["fold"]))


def cv_folds():
    """The test folds k of this run (the fold-{k} jobs). speaker/stratified: range(cv.folds), known at
    parse time; loso/predefined: the folds of results/data/folds.tsv once checkpoint folds has run
    (one per speaker or fold value that survived the manifest rule)."""
    if config["cv"]["protocol"] in FIXED_COUNT:
        return list(range(config["cv"]["folds"]))
    path = checkpoints.folds.get().output[0]
    stat = Path(path).stat()
    return _folds_in(path, (stat.st_mtime_ns, stat.st_size))


# Variants aug1..augN (N = max(augment.copies, per_class_copies); 0 = no augmentation). Copies
# only ever train (speech_emotion.data.splits.build_fold); the embed stage embeds them like "clean".
AUG_COPIES = max_copies(config["augment"])
AUG_VARIANTS = [f"aug{n}" for n in range(1, AUG_COPIES + 1)]


def variants():
    """Audio variants: clean + aug1..augN (N = max(augment.copies, per_class_copies values))."""
    return ["clean"] + AUG_VARIANTS


def fusion_members(encoder):
    """The member encoders of a fusion entry; [] for an encoder that embeds itself."""
    spec = config["encoders"][encoder]
    return list(spec["members"]) if spec["kind"] == "fusion" else []


def plan_features(wildcards):
    """features.* as a plan of this encoder uses them: balance_fusion only for a fusion, so that
    changing it reruns no plan of a single encoder."""
    features = dict(config["features"])
    if not fusion_members(wildcards.encoder):
        features.pop("balance_fusion", None)
    return features


def embedding_layout(encoder, variant=None, name=None):
    """An encoder's embedding shards as variant -> member encoder -> files (all variants, or one; a
    fusion's are its members') of a corpus (the primary one by default; an extra corpus has the clean
    variant only): the `shards` param of the rules that read embeddings."""
    name = PRIMARY if name is None else name
    if name != PRIMARY:
        variant = "clean"
    return {
        v: {e: expand(EMBEDDINGS, corpus_dir=corpus_dir(name), encoder=e, variant=v, shard=SHARDS)
            for e in fusion_members(encoder) or [encoder]}
        for v in (variants() if variant is None else [variant])
    }


def shard_files(layout):
    """Every file of an embedding_layout (the rule's input)."""
    return [path for by_encoder in layout.values() for paths in by_encoder.values() for path in paths]


@functools.lru_cache(maxsize=None)
def _rule_code(rule, classifier, regressor):
    return rule_code(REPO_DIR / "workflow" / "speech_emotion", rule, classifier, regressor)


def code_of(rule):
    """The `code` param of `rule`: a hash of the library code its results depend on (the folders and
    files of speech_emotion.rule_code.RULE_CODE, with the job's own classifier or regressor module):
    editing that code reruns the rule's jobs."""
    return lambda wildcards: _rule_code(rule, getattr(wildcards, "classifier", None),
                                        getattr(wildcards, "regressor", None))

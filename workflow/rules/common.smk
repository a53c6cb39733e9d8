# Config validation, constants and every input function of the workflow.
import functools
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("8.20")

REPO_DIR = Path(workflow.basedir)  # the checkout: Snakefile, workflow/, resources/
sys.path.insert(0, str(REPO_DIR / "workflow"))

from speech_emotion.cache import corrupt_message, find_corrupt  # noqa: E402
from speech_emotion.config import ConfigError, check_config, coerce_to_schema, load_schema, schema_errors  # noqa: E402
from speech_emotion.datasets import DatasetError, list_corpus  # noqa: E402
from speech_emotion.shards import shard_of  # noqa: E402

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
CACHE_ROOTS = ["results/audio", "results/embeddings", "results/cv", "results/models", "results/corpora", "results/cross"]
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

# Each rule file appends a function returning the targets it adds to `rule all`.
TARGETS = []


def all_targets(wildcards):
    return [target for targets in TARGETS for target in targets()]


# --- dataset -------------------------------------------------------------------------------------
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


def shard_audio(wildcards):
    """The audio files of one shard: a clip added or changed reruns only its shard."""
    return shard_rows(wildcards)["path"].tolist()


def shard_clips(wildcards):
    """[clip_id, path] pairs of one shard (a params value, so renames rerun the shard)."""
    return shard_rows(wildcards)[["clip_id", "path"]].values.tolist()


def corpus_shard_tables(wildcards):
    """check_clips' tables of every shard of the corpus (rule manifest)."""
    return expand("results/{corpus_dir}data/shards/shard-{shard}.tsv", corpus_dir=wildcards.corpus_dir, shard=SHARDS)


def manifest_dataset(wildcards):
    """The corpus listing rule manifest repeats (a params value)."""
    return corpus_spec(corpus_of(wildcards))


def dataset_meta_files(wildcards):
    """Metadata files the manifest joins in: the corpus CSV, or CREMA-D's actor table."""
    spec = corpus_spec(corpus_of(wildcards))
    key = {"manifest": "manifest", "cremad": "demographics"}.get(spec["kind"])
    return [spec[key]] if key and spec[key] else []


# --- folds ---------------------------------------------------------------------------------------
from speech_emotion.folds import FIXED_COUNT  # noqa: E402
from speech_emotion.splits import fold_list  # noqa: E402


def predefined_folds_spec():
    """cv.protocol predefined: where each clip's fold comes from (a params value); None otherwise."""
    cv = config["cv"]
    if cv["protocol"] != "predefined":
        return None
    return {
        "column": cv["fold_column"],
        "table": cv["fold_table"],
        "source": f"dataset.manifest '{config['dataset']['manifest']}'",
    }


def fold_inputs(wildcards):
    """The fold table (cv.fold_table) and rejected.tsv (its rejected clips are left out), if used."""
    spec = predefined_folds_spec()
    if not spec or not spec["table"]:
        return {}
    return {"table": spec["table"], "rejected": "results/data/rejected.tsv"}


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


# List a corpus already on disk now: Snakemake ignores an input function's error when the output
# exists, so a badly named new file would otherwise be skipped silently on a rerun.
if config["dataset"]["kind"] != "cremad" or config["dataset"]["source"] not in (None, "download", "demo"):
    corpus()
for _name in config["corpora"]:
    corpus(_name)


# --- augment -------------------------------------------------------------------------------------
from speech_emotion.augment import check_per_class_labels, clips_needing_copy, max_copies, transform_config  # noqa: E402

# Variants aug1..augN (N = max(augment.copies, per_class_copies); 0 = no augmentation). Copies
# only ever train (speech_emotion.splits.build_fold); the embed stage embeds them like "clean".
AUG_COPIES = max_copies(config["augment"])
AUG_VARIANTS = [f"aug{n}" for n in range(1, AUG_COPIES + 1)]
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
    return f"results/data/shards/shard-{wildcards.shard}.tsv"


def augment_clip_ids(wildcards):
    """Clip ids of the shard that get copy n: unchanged for existing n when `copies` grows."""
    return clips_needing_copy(shard_rows(wildcards), int(wildcards.n), config["augment"])


# --- evaluate ------------------------------------------------------------------------------------
from speech_emotion.metrics import format_summary  # noqa: E402


def _perception():
    """(summaryTable.csv path or None, why there is none) for the human baseline."""
    spec = dataset_spec()
    if spec["kind"] != "cremad":
        return None, f"dataset.kind is '{spec['kind']}': no listener perception votes"
    if spec["perception"]:
        return spec["perception"], None
    if config["dataset"]["source"] == "demo":
        return None, "synthetic demo corpus: no listener perception votes"
    return None, "dataset.perception (CREMA-D summaryTable.csv) is not set"


PERCEPTION_FILE, PERCEPTION_NOTE = _perception()


def perception_file(wildcards):
    return [PERCEPTION_FILE] if PERCEPTION_FILE else []


def cv_predictions(wildcards):
    """predictions.tsv of every fold of one (encoder, classifier)."""
    return expand(
        "results/cv/{encoder}/{classifier}/fold-{fold}/predictions.tsv",
        encoder=wildcards.encoder,
        classifier=wildcards.classifier,
        fold=cv_folds(),
    )


def encoder_metrics(wildcards):
    return expand(
        "results/cv/{encoder}/{classifier}/metrics.json",
        encoder=wildcards.encoder,
        classifier=config["run"]["classifiers"],
    )


def all_metrics(wildcards):
    return expand(
        "results/cv/{encoder}/{classifier}/metrics.json",
        encoder=config["run"]["encoders"],
        classifier=config["run"]["classifiers"],
    )


def clean_embeddings(wildcards):
    return embedding_shards(wildcards.encoder, "clean")


def _layer_probe_runs(encoder):
    """The probe scores layers only for `features.layers: auto` on multi-layer (hf) encoders."""
    return config["features"]["layers"] == "auto" and config["encoders"][encoder]["kind"] in ("hf", "emotion2vec")


def final_plan(wildcards):
    """The final model's plan (fold "all"): its layers are the ones the UMAP and probe figures show."""
    return f"results/cv/{wildcards.encoder}/plans/fold-all.json"


def evaluation_targets():
    encoders, classifiers = config["run"]["encoders"], config["run"]["classifiers"]
    targets = ["results/summary.tsv", "results/leaderboard.html", "results/plots/comparison.png"]
    targets += expand(
        "results/cv/{encoder}/{classifier}/{name}",
        encoder=encoders,
        classifier=classifiers,
        name=["metrics.json", "confusion.png", "per_class.png"],
    )
    targets += expand("results/plots/{encoder}/{name}.png", encoder=encoders, name=["fold_scores", "umap"])
    targets += [f"results/plots/{e}/layer_probe.png" for e in encoders if _layer_probe_runs(e)]
    return targets


def print_summary(path):
    """Print results/summary.tsv as a table (end of a successful run)."""
    if Path(path).exists():
        import pandas as pd

        print(f"\nCross-validation summary ({path}, mean ± std over folds):", file=sys.stderr)
        print(format_summary(pd.read_csv(path, sep="\t")), file=sys.stderr)


# --- embed ---------------------------------------------------------------------------------------
import re  # noqa: E402

# (Truncated/corrupt shards are removed at start-up by the cache check at the top of this file.)
MODELS_DIR = "resources/models"


def _model_source(encoder):
    """How resources/models/{encoder} is made: none (opensmile), local, init or download."""
    spec = config["encoders"][encoder]
    if spec["kind"] not in ("hf", "emotion2vec"):
        return "none"
    if spec.get("init_config"):
        return "init"
    return "local" if Path(spec["model"]).is_dir() else "download"


def _encoder_regex(source):
    """Wildcard constraint matching exactly the encoders whose model folder `source` makes."""
    names = [re.escape(n) for n in config["encoders"] if _model_source(n) == source]
    return "|".join(names) if names else "(?!)"


def model_dir(encoder):
    """Local Hugging Face folder of an encoder (None for opensmile)."""
    source = _model_source(encoder)
    if source == "none":
        return None
    if source == "local":
        return config["encoders"][encoder]["model"]
    return f"{MODELS_DIR}/{encoder}"


def init_config_file(wildcards):
    """encoders.<name>.init_config: relative to the working directory, else shipped with the workflow."""
    path = config["encoders"][wildcards.encoder]["init_config"]
    return path if Path(path).exists() or Path(path).is_absolute() else str(REPO_DIR / path)


def init_config_texts(wildcards):
    """The model and preprocessor configs as text: a params value, so the model is rebuilt when
    their content changes but not when the checkout moves (an input path would be absolute)."""
    folder = Path(init_config_file(wildcards)).parent
    kind = config["encoders"][wildcards.encoder]["kind"]
    names = ("config.yaml",) if kind == "emotion2vec" else ("config.json", "preprocessor_config.json")
    return {name: (folder / name).read_text(encoding="utf-8") for name in names}


def variants():
    """Audio variants: clean + aug1..augN (N = max(augment.copies, per_class_copies values))."""
    return ["clean"] + AUG_VARIANTS


def embed_audio(wildcards):
    """clean: check_clips' shard table (accepted rows); augN: the augmented audio shard (primary corpus only)."""
    if wildcards.variant == "clean":
        return f"results/{wildcards.corpus_dir}data/shards/shard-{wildcards.shard}.tsv"
    if wildcards.corpus_dir:
        raise WorkflowError(f"results/{wildcards.corpus_dir}embeddings: an extra corpus has clean embeddings only")
    return f"results/audio/{wildcards.variant}/shard-{wildcards.shard}.npz"


def embed_model(wildcards):
    folder = model_dir(wildcards.encoder)
    return [folder] if folder else []


def result_spec(encoder):
    """encoders.<name> without `gpu`, plus embed.quantize / embed.max_layer when set (hf encoders):
    what decides an encoder's embeddings."""
    from speech_emotion.embeddings import embed_speedups

    spec = {k: v for k, v in config["encoders"][encoder].items() if k != "gpu"}
    return {**spec, **embed_speedups(config["embed"])} if spec["kind"] == "hf" else spec


def embed_spec(wildcards):
    """The result-relevant part of encoders.<name> (a params value: changing it reruns the shards)."""
    return result_spec(wildcards.encoder)


def embed_gpu(wildcards):
    """GPUs per embed job: encoders.<name>.gpu, default 1 for hf and 0 for opensmile."""
    spec = config["encoders"][wildcards.encoder]
    return int(spec.get("gpu", 1 if spec["kind"] in ("hf", "emotion2vec") else 0))


def fusion_members(encoder):
    """The member encoders of a fusion entry; [] for an encoder that embeds itself."""
    spec = config["encoders"][encoder]
    return list(spec["members"]) if spec["kind"] == "fusion" else []


def embedding_shards(encoder, variant=None, name=None):
    """Every embedding shard of an encoder (all variants, or one; a fusion's are its members') of a corpus
    (the primary one by default; an extra corpus has the clean variant only)."""
    name = PRIMARY if name is None else name
    if name != PRIMARY:
        variant = "clean"
    return expand(
        "results/{corpus_dir}embeddings/{encoder}/{variant}/shard-{shard}.npz",
        corpus_dir=corpus_dir(name),
        encoder=fusion_members(encoder) or [encoder],
        variant=variants() if variant is None else [variant],
        shard=SHARDS,
    )


# --- train ---------------------------------------------------------------------------------------
# Fold "all" (every clip trains) is the final model's fold: plans/fold-all.json and
# results/cv/{encoder}/{classifier}/fold-all/ feed rule final_model.


def member_plans(wildcards):
    """A fusion's plan reuses its members' plans of the same fold (their layers)."""
    return expand("results/cv/{member}/plans/fold-{fold}.json", member=fusion_members(wildcards.encoder),
                  fold=wildcards.fold)


def plan_members(wildcards):
    """A fusion's member encoders in the config's order (the order of its features)."""
    return fusion_members(wildcards.encoder)


def train_embedding_shards(wildcards):
    """Every variant's shards (copies train only: speech_emotion.splits.build_fold)."""
    return embedding_shards(wildcards.encoder)


def classifier_config(wildcards):
    """classifiers.<name> only: changing one classifier's settings reruns only its jobs."""
    if wildcards.classifier not in config["classifiers"]:
        raise WorkflowError(f"classifiers.{wildcards.classifier}: not configured")
    return dict(config["classifiers"][wildcards.classifier])


def _tuned(classifier):
    tune = config["tune"]
    return bool(tune["enabled"]) and classifier in tune["classifiers"] and classifier != "ensemble"


def tune_settings(wildcards):
    """tune.* for one classifier: n_trials, inner_folds, its search space, pruner."""
    tune = config["tune"]
    return {
        "n_trials": tune["n_trials"],
        "inner_folds": tune["inner_folds"],
        "space": tune["spaces"].get(wildcards.classifier, {}),
        "pruner": tune["pruner"],
    }


def ensemble_members(wildcards):
    """The ensemble's member classifiers, in the order of their model inputs (none for other classifiers)."""
    return list(config["classifiers"]["ensemble"]["members"]) if wildcards.classifier == "ensemble" else []


def train_extra_inputs(wildcards):
    """Ensemble: its members' models of the same fold; tuned classifiers: the fold's best params."""
    extra = {}
    if wildcards.classifier == "ensemble":
        members = config["classifiers"]["ensemble"]["members"]
        extra["members"] = expand(
            "results/cv/{encoder}/{member}/fold-{fold}/model.zip",
            encoder=wildcards.encoder,
            member=members,
            fold=wildcards.fold,
        )
    if _tuned(wildcards.classifier):
        extra["tuned"] = f"results/cv/{wildcards.encoder}/{wildcards.classifier}/fold-{wildcards.fold}/tuned.json"
    return extra


def cv_plans(wildcards):
    """The plan of every CV fold of one encoder (rule layer_probe_table)."""
    return expand("results/cv/{encoder}/plans/fold-{fold}.json", encoder=wildcards.encoder, fold=cv_folds())


def encoder_record(encoder):
    """The encoder a final model needs at predict time: config entry + weights folder (a fusion: its members')."""
    record = {"name": encoder, "spec": result_spec(encoder), "model_dir": model_dir(encoder)}
    if fusion_members(encoder):
        record["members"] = [encoder_record(member) for member in fusion_members(encoder)]
    return record


def model_encoder_record(wildcards):
    return encoder_record(wildcards.encoder)


def model_audio_settings(wildcards):
    return {
        "sample_rate": config["audio"]["sample_rate"],
        "min_seconds": config["audio"]["min_seconds"],  # predict rejects shorter input, as check_clips does
        "max_seconds": config["audio"]["max_seconds"],
        "batch_seconds": config["embed"]["batch_seconds"],
        "cpu_batch_seconds": config["embed"]["cpu_batch_seconds"],
    }


def train_targets():
    encoders, classifiers = config["run"]["encoders"], config["run"]["classifiers"]
    targets = expand("results/cv/{encoder}/layer_probe.tsv", encoder=[e for e in encoders if not fusion_members(e)])
    targets += expand(
        "results/cv/{encoder}/{classifier}/fold-{fold}/predictions.tsv",
        encoder=encoders,
        classifier=classifiers,
        fold=cv_folds(),
    )
    targets += expand(
        "results/models/{encoder}/{classifier}/{name}",
        encoder=encoders,
        classifier=classifiers,
        name=["model.zip", "features.json", "model.json", "MODEL_CARD.md"],
    )
    return targets


# --- code fingerprints (params `code` of rules plan, tune and train) ---------------------------------
from speech_emotion.classifiers.registry import job_threads, module_name  # noqa: E402
from speech_emotion.fingerprint import code_fingerprint  # noqa: E402


def train_threads(wildcards):
    """Threads of a train job: train.threads, 1 for one-thread classifiers (registry)."""
    return job_threads(wildcards.classifier, config["train"]["threads"])


@functools.lru_cache(maxsize=None)
def _code(script, *modules):
    return code_fingerprint([REPO_DIR / "workflow" / "scripts" / script], modules, REPO_DIR / "workflow" / "speech_emotion")


def train_code(wildcards):
    """Hash of the code deciding this classifier's results (train.py, the library it imports, the
    classifier's own module): editing the MLP reruns only MLP jobs (speech_emotion.fingerprint)."""
    return _code("train.py", module_name(wildcards.classifier))


def tune_code(wildcards):
    return _code("tune.py", module_name(wildcards.classifier))


def plan_code(wildcards):
    """Hash of the code deciding a fold's plan (plan.py, speech_emotion.plan and what it imports,
    both probes, logreg.py and probe.py, included): editing it reruns the plans."""
    return _code("plan.py")


# --- cross-corpus runs (docs/cross_corpus.md) --------------------------------------------------------
# results/cross/models/{train}/{encoder}/plan.json and .../{classifier}/model.zip: trained once per
# train corpus on all its clips with a common label; results/cross/{train}__{test}/{encoder}/{classifier}/:
# predictions of the test corpus, metrics.json, figures. Nothing here runs unless `cross` names pairs.
CROSS_PAIRS = [(pair["train"], pair["test"]) for pair in config["cross"]]


def corpus_manifest(name):
    return f"results/{corpus_dir(name)}data/manifest.tsv"


def cross_train_embeddings(wildcards):
    """The train corpus's embedding shards: every variant for the primary corpus (its copies may
    train, as the plan decides), clean for an extra corpus."""
    return embedding_shards(wildcards.encoder, name=wildcards.train)


def cross_train_manifest(wildcards):
    return corpus_manifest(wildcards.train)


def cross_test_embeddings(wildcards):
    """The test corpus's clean embedding shards (its clips are only ever predicted)."""
    return embedding_shards(wildcards.encoder, "clean", name=wildcards.test)


def cross_test_manifest(wildcards):
    return corpus_manifest(wildcards.test)


def cross_member_plans(wildcards):
    """A fusion's cross plan reuses its members' cross plans of the same train corpus (their layers)."""
    return expand("results/cross/models/{train}/{member}/plan.json", train=wildcards.train,
                  member=fusion_members(wildcards.encoder))


def cross_members(wildcards):
    """Ensemble: its members' cross models of the same train corpus and encoder."""
    if wildcards.classifier != "ensemble":
        return {}
    members = config["classifiers"]["ensemble"]["members"]
    return {"members": expand("results/cross/models/{train}/{encoder}/{member}/model.zip", train=wildcards.train,
                              encoder=wildcards.encoder, member=members)}


def cross_plan_code(wildcards):
    return _code("cross_plan.py")


def cross_train_code(wildcards):
    return _code("cross_train.py", module_name(wildcards.classifier))


def cross_metrics(wildcards=None):
    """metrics.json of every cross pair x encoder x classifier of the run (rule summary)."""
    return [
        f"results/cross/{train}__{test}/{encoder}/{classifier}/metrics.json"
        for train, test in CROSS_PAIRS
        for encoder in config["run"]["encoders"]
        for classifier in config["run"]["classifiers"]
    ]


def summary_metrics(wildcards):
    """Every metrics.json of results/summary.tsv: the in-corpus CV, then the cross pairs."""
    return all_metrics(wildcards) + cross_metrics()


def cross_targets():
    return [
        path.replace("metrics.json", name) for path in cross_metrics() for name in
        ("metrics.json", "confusion.png", "per_class.png")
    ]

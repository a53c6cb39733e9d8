# Input functions and constants of data.smk (functions live apart from rules: snakemake --lint).
def shard_audio(wildcards):
    """The audio files of one shard: a clip added or changed reruns only its shard."""
    return shard_rows(wildcards)["path"].tolist()


def shard_clips(wildcards):
    """[clip_id, path] pairs of one shard (a params value, so renames rerun the shard)."""
    return shard_rows(wildcards)[["clip_id", "path"]].values.tolist()


def corpus_shard_tables(wildcards):
    """check_clips' tables of every shard of the corpus (rule manifest)."""
    return expand(SHARD_TABLE, corpus_dir=wildcards.corpus_dir, shard=SHARDS)


def manifest_dataset(wildcards):
    """The corpus listing the manifest job repeats (a params value), without dataset.targets: declaring a
    continuous target reruns no manifest (rule target_values reads it)."""
    return {key: value for key, value in corpus_spec(corpus_of(wildcards)).items() if key != "targets"}


def target_dataset(wildcards):
    """The one target of a target_values job, less its description (which decides no value), and where its
    tables are (the primary dataset)."""
    spec = dataset_spec()
    target = {k: v for k, v in spec["targets"][wildcards.target].items() if k != "description"}
    return {"targets": {wildcards.target: target},
            "perception": spec.get("perception"), "manifest": spec.get("manifest")}


def target_value_tables(wildcards):
    """The file the target reads besides the manifest (dataset.perception or its table), if any."""
    return target_tables(target_dataset(wildcards))


def dataset_meta_files(wildcards):
    """Metadata files the manifest joins in: the corpus CSV, or CREMA-D's actor table."""
    spec = corpus_spec(corpus_of(wildcards))
    key = {"manifest": "manifest", "cremad": "demographics"}.get(spec["kind"])
    return [spec[key]] if key and spec[key] else []


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
    return {"table": spec["table"], "rejected": REJECTED}


# List a corpus already on disk now: Snakemake ignores an input function's error when the output
# exists, so a badly named new file would otherwise be skipped silently on a rerun.
if config["dataset"]["kind"] != "cremad" or config["dataset"]["source"] not in (None, "download", "demo"):
    corpus()
for _name in config["corpora"]:
    corpus(_name)


def data_targets():
    return [MANIFEST, FOLDS]

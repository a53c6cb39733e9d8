# Input functions and constants of evaluate.smk (functions live apart from rules: snakemake --lint).
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
        f"{FOLD}/predictions.tsv",
        encoder=wildcards.encoder,
        classifier=wildcards.classifier,
        fold=cv_folds(),
    )


def encoder_metrics(wildcards):
    return expand(
        METRICS,
        encoder=wildcards.encoder,
        classifier=config["run"]["classifiers"],
    )


def all_metrics(wildcards):
    return expand(
        METRICS,
        encoder=config["run"]["encoders"],
        classifier=config["run"]["classifiers"],
    )


def clean_shards(wildcards):
    return embedding_layout(wildcards.encoder, "clean")


def clean_embeddings(wildcards):
    return shard_files(clean_shards(wildcards))


def _layer_probe_runs(encoder):
    """The probe scores layers only for `features.layers: auto` on multi-layer (hf) encoders."""
    return config["features"]["layers"] == "auto" and config["encoders"][encoder]["kind"] in ("hf", "emotion2vec")


def final_plan(wildcards):
    """The final model's plan (fold "all"): its layers are the ones the UMAP and probe figures show."""
    return PLAN.format(encoder=wildcards.encoder, fold="all")


def evaluation_targets():
    encoders, classifiers = config["run"]["encoders"], config["run"]["classifiers"]
    targets = [SUMMARY, LEADERBOARD, f"{PLOTS}/comparison.png"]
    targets += expand(
        f"{CLASSIFIER}/{{name}}",
        encoder=encoders,
        classifier=classifiers,
        name=["metrics.json", "confusion.png", "per_class.png"],
    )
    targets += expand(f"{PLOTS}/{{encoder}}/{{name}}.png", encoder=encoders, name=["fold_scores", "umap"])
    targets += [f"{PLOTS}/{e}/layer_probe.png" for e in encoders if _layer_probe_runs(e)]
    return targets


def summary_metrics(wildcards):
    """Every metrics.json of results/summary.tsv: the in-corpus CV, then the cross pairs."""
    return all_metrics(wildcards) + cross_metrics()

# Input functions and constants of explain.smk (functions live apart from rules: snakemake --lint).


def explain_enabled():
    return bool(config["explain"]["enabled"])


def _fold_files(wildcards, name):
    return expand(f"{FOLD}/{name}", encoder=wildcards.encoder, classifier=wildcards.classifier, fold=cv_folds())


def explain_inputs(wildcards):
    """Every CV fold's model folder files of one (encoder, classifier), fold by fold (params.folds's order)."""
    return {
        "models": _fold_files(wildcards, "model.zip"),
        "features": _fold_files(wildcards, "features.json"),
        "predictions": _fold_files(wildcards, "predictions.tsv"),
        "embeddings": clean_embeddings(wildcards),
    }


def explain_folds(wildcards):
    return [str(k) for k in cv_folds()]


def explain_encoders(wildcards):
    """The config entries of the encoders whose columns the pipeline reads (a fusion's members)."""
    return {e: dict(config["encoders"][e]) for e in fusion_members(wildcards.encoder) or [wildcards.encoder]}


def explain_pairs():
    return [(e, c) for e in config["run"]["encoders"] for c in config["run"]["classifiers"]]


def explain_pair_files(name):
    return lambda wildcards: [name.format(encoder=e, classifier=c) for e, c in explain_pairs()]


def explain_targets():
    """The explain stage's default targets (none with explain.enabled false)."""
    if not explain_enabled():
        return []
    targets = [EXPLAIN_IMPORTANCE, EXPLAIN_NUISANCE, EXPLANATIONS]
    for encoder, classifier in explain_pairs():
        targets += [f"{CLASSIFIER}/{name}".format(encoder=encoder, classifier=classifier)
                    for name in ("importance.tsv", "nuisance.tsv", "importance.png")]
    return targets

# Input functions and constants of train.smk (functions live apart from rules: snakemake --lint).
from speech_emotion.train.classifiers.registry import job_threads  # noqa: E402

# Fold "all" (every clip trains) is the final model's fold: plans/fold-all.json and
# results/cv/{encoder}/{classifier}/fold-all/ feed rule final_model.


def member_plans(wildcards):
    """A fusion's plan reuses its members' plans of the same fold (their layers)."""
    return expand(PLAN, encoder=fusion_members(wildcards.encoder),
                  fold=wildcards.fold)


def plan_members(wildcards):
    """A fusion's member encoders in the config's order (the order of its features)."""
    return fusion_members(wildcards.encoder)


def train_shards(wildcards):
    """Every variant's shards (copies train only: speech_emotion.data.splits.build_fold)."""
    return embedding_layout(wildcards.encoder)


def train_embedding_shards(wildcards):
    return shard_files(train_shards(wildcards))


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
            f"{FOLD}/model.zip",
            encoder=wildcards.encoder,
            classifier=members,
            fold=wildcards.fold,
        )
    if _tuned(wildcards.classifier):
        extra["tuned"] = f"{FOLD}/tuned.json".format(encoder=wildcards.encoder, classifier=wildcards.classifier,
                                                     fold=wildcards.fold)
    return extra


def cv_plans(wildcards):
    """The plan of every CV fold of one encoder (rule layer_probe_table)."""
    return expand(PLAN, encoder=wildcards.encoder, fold=cv_folds())


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


def model_explanations(wildcards):
    """The pair's importance.tsv and nuisance.tsv, for the model card's explanations section, where the explain
    stage explains the pair (explain.enabled and a pair of run.encoders x run.classifiers: inputs/explain.smk);
    none otherwise (a card without the section)."""
    if not explain_enabled() or (wildcards.encoder, wildcards.classifier) not in explain_pairs():
        return {}
    pair = {"encoder": wildcards.encoder, "classifier": wildcards.classifier}
    return {"importance": IMPORTANCE.format(**pair), "nuisance": NUISANCE.format(**pair)}


def train_targets():
    encoders, classifiers = config["run"]["encoders"], config["run"]["classifiers"]
    targets = expand(LAYER_PROBE_TABLE, encoder=[e for e in encoders if not fusion_members(e)])
    targets += expand(
        f"{FOLD}/predictions.tsv",
        encoder=encoders,
        classifier=classifiers,
        fold=cv_folds(),
    )
    targets += expand(
        f"{MODEL}/{{name}}",
        encoder=encoders,
        classifier=classifiers,
        name=["model.zip", "features.json", "model.json", "MODEL_CARD.md"],
    )
    return targets


def train_threads(wildcards):
    """Threads of a train job: train.threads, 1 for one-thread classifiers (registry)."""
    return job_threads(wildcards.classifier, config["train"]["threads"])

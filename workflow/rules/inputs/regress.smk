# Input functions and constants of regress.smk (functions live apart from rules: snakemake --lint).
from speech_emotion.layout import REGRESSION_FOLD, REGRESSION_METRICS, REGRESSION_SUMMARY  # noqa: E402
from speech_emotion.layout import REGRESSION_LEADERBOARD, REGRESSION_RESIDUALS, REGRESSION_SCATTER  # noqa: E402
from speech_emotion.layout import REGRESSION_MODEL  # noqa: E402
from speech_emotion.train.regressors import REGISTRY as REGRESSOR_REGISTRY  # noqa: E402

REGRESSION_FINAL_FOLD = REGRESSION_FOLD.replace("{fold}", "all")  # every clip with a value trains: the final regressor


def regression_targets_declared():
    """The declared continuous targets (dataset.targets), in the config's order."""
    return list(config["dataset"].get("targets") or {})


def target_config(wildcards):
    """dataset.targets.<name> only: declaring another target reruns no job of this one."""
    targets = config["dataset"].get("targets") or {}
    if wildcards.target not in targets:
        raise WorkflowError(f"dataset.targets.{wildcards.target}: not declared")
    return dict(targets[wildcards.target])


def regressor_config(wildcards):
    """regressors.<name> only: changing one regressor's settings reruns only its jobs."""
    if wildcards.regressor not in config["regressors"]:
        raise WorkflowError(f"regressors.{wildcards.regressor}: not configured")
    return dict(config["regressors"][wildcards.regressor])


def regress_threads(wildcards):
    """train.threads, 1 for a regressor that trains on one thread (registry)."""
    return int(config["train"]["threads"]) if REGRESSOR_REGISTRY[wildcards.regressor].parallel else 1


def regression_predictions(wildcards):
    """predictions.tsv of every CV fold of one (target, encoder, regressor)."""
    return expand(f"{REGRESSION_FOLD}/predictions.tsv", target=wildcards.target, encoder=wildcards.encoder,
                  regressor=wildcards.regressor, fold=cv_folds())


def regression_metrics_files(wildcards=None):
    """metrics.json of every (target, encoder, regressor) of the run."""
    return expand(REGRESSION_METRICS, target=regression_targets_declared(), encoder=config["run"]["encoders"],
                  regressor=config["run"]["regressors"])


def regression_models():
    """model.json of the final regressor of every (target, encoder, regressor) of the run (rule regress_model)."""
    return expand(f"{REGRESSION_MODEL}/model.json", target=regression_targets_declared(),
                  encoder=config["run"]["encoders"], regressor=config["run"]["regressors"])


def regression_targets():
    """The regress stage's default targets: none with run.regressors empty (the default)."""
    if not config["run"]["regressors"]:
        return []
    figures = expand([REGRESSION_SCATTER, REGRESSION_RESIDUALS], target=regression_targets_declared(),
                     encoder=config["run"]["encoders"], regressor=config["run"]["regressors"])
    return regression_metrics_files() + [REGRESSION_SUMMARY, REGRESSION_LEADERBOARD] + figures + regression_models()

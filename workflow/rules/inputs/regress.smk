# Input functions and constants of regress.smk (functions live apart from rules: snakemake --lint).
from speech_emotion.layout import REGRESSION_FOLD, REGRESSION_METRICS, REGRESSION_SUMMARY  # noqa: E402
from speech_emotion.layout import REGRESSION_LEADERBOARD, REGRESSION_RESIDUALS, REGRESSION_SCATTER  # noqa: E402
from speech_emotion.layout import REGRESSION_MODEL, REGRESSION_PLAN  # noqa: E402
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


def target_plan_config(wildcards):
    """dataset.targets.<name> less its description, which decides nothing of a plan: editing it reruns no plan."""
    return {k: v for k, v in target_config(wildcards).items() if k != "description"}


def regression_member_plans(wildcards):
    """A fusion's regression plan reuses its members' regression plans of the same target and fold (their layers)."""
    return expand(REGRESSION_PLAN, target=wildcards.target, encoder=fusion_members(wildcards.encoder), fold=wildcards.fold)


def regression_plan_features(wildcards):
    """features.* as a regression plan uses them: a plan's (plan_features) less the logistic probe's C,
    max_iter and finalists, which the ridge probe does not read (changing them reruns no regression plan)."""
    unread = ("probe_C", "probe_max_iter", "probe_finalists")
    return {k: v for k, v in plan_features(wildcards).items() if k not in unread}


def regressor_config(wildcards):
    """regressors.<name> only: changing one regressor's settings reruns only its jobs."""
    if wildcards.regressor not in config["regressors"]:
        raise WorkflowError(f"regressors.{wildcards.regressor}: not configured")
    return dict(config["regressors"][wildcards.regressor])


def regress_tuned(regressor):
    """Whether a regressor's regress jobs read their fold's tuned.json (tune.regressors; never the ensemble,
    whose members are tuned in their own jobs)."""
    return regressor in (config["tune"].get("regressors") or []) and regressor != "ensemble"


def regress_tune_settings(wildcards):
    """tune.* for one regressor: n_trials, inner_folds and its space (tune.regressor_spaces.<name>)."""
    tune = config["tune"]
    return {"n_trials": tune["n_trials"], "inner_folds": tune["inner_folds"],
            "space": (tune.get("regressor_spaces") or {}).get(wildcards.regressor, {})}


def regress_members(wildcards):
    """The ensemble's members, in the order of its model inputs (none for another regressor)."""
    return list(config["regressors"]["ensemble"]["members"]) if wildcards.regressor == "ensemble" else []


def regress_extra_inputs(wildcards):
    """A tuned regressor: its fold's tuned.json; the ensemble: its members' models of the same fold."""
    extra = {}
    fold = {"target": wildcards.target, "encoder": wildcards.encoder, "fold": wildcards.fold}
    if regress_tuned(wildcards.regressor):
        extra["tuned"] = f"{REGRESSION_FOLD}/tuned.json".format(regressor=wildcards.regressor, **fold)
    if wildcards.regressor == "ensemble":
        extra["members"] = [f"{REGRESSION_FOLD}/model.zip".format(regressor=m, **fold) for m in regress_members(wildcards)]
    return extra


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

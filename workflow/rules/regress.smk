# Continuous targets (dataset.targets): a regressor per (target, encoder, regressor, fold) on the
# classification folds with a plan per (target, encoder, fold) scored by CCC (rule regress_plan)
# (tuned per fold by rule regress_tune for tune.regressors), metrics.json per (target, encoder, regressor), results/regression/summary.tsv.
# No job unless run.regressors names a regressor (docs/regression.md).


include: "inputs/regress.smk"


rule regress_plan:
    input:
        embeddings=clean_embeddings,
        member_plans=regression_member_plans,
        manifest=MANIFEST,
        values=TARGET_VALUES,
        folds=FOLDS,
    output:
        REGRESSION_PLAN,
    log:
        "results/logs/regress_plan/{target}/{encoder}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/regress_plan/{target}/{encoder}/fold-{fold}.tsv"
    params:
        shards=clean_shards,
        features=regression_plan_features,
        target=target_plan_config,
        members=plan_members,
        seed=config["seed"],
        code=code_of("regress_plan"),
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_plan.py"


rule regress_tune:
    input:
        embeddings=clean_embeddings,
        manifest=MANIFEST,
        values=TARGET_VALUES,
        folds=FOLDS,
        plan=REGRESSION_PLAN,
    output:
        study=f"{REGRESSION_FOLD}/study.sqlite3",
        best=f"{REGRESSION_FOLD}/tuned.json",
    log:
        "results/logs/regress_tune/{target}/{encoder}/{regressor}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/regress_tune/{target}/{encoder}/{regressor}/fold-{fold}.tsv"
    params:
        shards=clean_shards,
        config=regressor_config,
        target=target_config,
        tune=regress_tune_settings,
        seed=config["seed"],
        code=code_of("regress_tune"),
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        regressor=r"[a-z]+",
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_tune.py"


rule regress:
    input:
        unpack(regress_extra_inputs),
        embeddings=clean_embeddings,
        manifest=MANIFEST,
        values=TARGET_VALUES,
        folds=FOLDS,
        plan=REGRESSION_PLAN,
    output:
        predictions=f"{REGRESSION_FOLD}/predictions.tsv",
        record=f"{REGRESSION_FOLD}/record.json",
        model=f"{REGRESSION_FOLD}/model.zip",
        features=f"{REGRESSION_FOLD}/features.json",
        info=f"{REGRESSION_FOLD}/model.json",
    log:
        "results/logs/regress/{target}/{encoder}/{regressor}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/regress/{target}/{encoder}/{regressor}/fold-{fold}.tsv"
    params:
        shards=clean_shards,
        config=regressor_config,
        target=target_config,
        members=regress_members,
        seed=config["seed"],
        encoder=model_encoder_record,
        audio=model_audio_settings,
        code=code_of("regress"),
    threads: regress_threads
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        regressor=r"[a-z]+",
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress.py"


rule regress_aggregate:
    input:
        predictions=regression_predictions,
        manifest=MANIFEST,
        values=TARGET_VALUES,
        folds=FOLDS,
    output:
        metrics=REGRESSION_METRICS,
    log:
        "results/logs/regress_aggregate/{target}/{encoder}/{regressor}.log",
    params:
        target=target_config,
        protocol=config["cv"]["protocol"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        regressor=r"[a-z]+",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_aggregate.py"


rule regress_summary:
    input:
        metrics=regression_metrics_files,
    output:
        REGRESSION_SUMMARY,
    log:
        "results/logs/regress_summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_summary.py"


rule regress_figures:
    input:
        predictions=regression_predictions,
        metrics=REGRESSION_METRICS,
    output:
        scatter=report(
            REGRESSION_SCATTER,
            caption="../report/regression_scatter.rst",
            category="5. Regression",
            subcategory="{target}",
            labels={"encoder": "{encoder}", "regressor": "{regressor}", "figure": "predicted vs rated"},
        ),
        residuals=report(
            REGRESSION_RESIDUALS,
            caption="../report/regression_residuals.rst",
            category="5. Regression",
            subcategory="{target}",
            labels={"encoder": "{encoder}", "regressor": "{regressor}", "figure": "residuals vs prediction"},
        ),
    log:
        "results/logs/regress_figures/{target}/{encoder}/{regressor}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        regressor=r"[a-z]+",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_figures.py"


rule regress_leaderboard:
    input:
        REGRESSION_SUMMARY,
    output:
        report(
            REGRESSION_LEADERBOARD,
            caption="../report/regression_leaderboard.rst",
            category="5. Regression",
            labels={"figure": "regression summary: summary.tsv, best pooled CCC first"},
        ),
    log:
        "results/logs/regress_leaderboard.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_leaderboard.py"


rule regress_model:
    input:
        model=f"{REGRESSION_FINAL_FOLD}/model.zip",
        features=f"{REGRESSION_FINAL_FOLD}/features.json",
        info=f"{REGRESSION_FINAL_FOLD}/model.json",
        metrics=REGRESSION_METRICS,
    output:
        model=f"{REGRESSION_MODEL}/model.zip",
        features=f"{REGRESSION_MODEL}/features.json",
        info=f"{REGRESSION_MODEL}/model.json",
        card=f"{REGRESSION_MODEL}/MODEL_CARD.md",
    log:
        "results/logs/regress_model/{target}/{encoder}/{regressor}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
        regressor=r"[a-z]+",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/regress_model.py"

# The plan of each (encoder, fold), (tuned) classifiers per (encoder, classifier, fold), final models
# on all clips (fold "all").


include: "inputs/train.smk"


rule plan:
    input:
        embeddings=train_embedding_shards,
        member_plans=member_plans,
        manifest=MANIFEST,
        folds=FOLDS,
    output:
        PLAN,
    log:
        "results/logs/plan/{encoder}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/plan/{encoder}/fold-{fold}.tsv"
    params:
        shards=train_shards,
        features=plan_features,
        augment_use=config["augment"]["use"],
        members=plan_members,
        seed=config["seed"],
        code=code_of("plan"),
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plan.py"


rule layer_probe_table:
    input:
        cv_plans,
    output:
        LAYER_PROBE_TABLE,
    log:
        "results/logs/layer_probe/{encoder}/table.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/layer_probe_table.py"


rule tune:
    input:
        embeddings=train_embedding_shards,
        manifest=MANIFEST,
        folds=FOLDS,
        plan=PLAN,
    output:
        study=f"{FOLD}/study.sqlite3",
        best=f"{FOLD}/tuned.json",
    log:
        "results/logs/tune/{encoder}/{classifier}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/tune/{encoder}/{classifier}/fold-{fold}.tsv"
    params:
        shards=train_shards,
        config=classifier_config,
        tune=tune_settings,
        seed=config["seed"],
        code=code_of("tune"),
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/tune.py"


rule train:
    input:
        unpack(train_extra_inputs),
        embeddings=train_embedding_shards,
        manifest=MANIFEST,
        folds=FOLDS,
        plan=PLAN,
    output:
        model=f"{FOLD}/model.zip",
        features=f"{FOLD}/features.json",
        info=f"{FOLD}/model.json",
        record=f"{FOLD}/record.json",
        predictions=f"{FOLD}/predictions.tsv",
    log:
        "results/logs/train/{encoder}/{classifier}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/train/{encoder}/{classifier}/fold-{fold}.tsv"
    params:
        shards=train_shards,
        config=classifier_config,
        members=ensemble_members,
        seed=config["seed"],
        encoder=model_encoder_record,
        audio=model_audio_settings,
        code=code_of("train"),
    threads: train_threads
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    wildcard_constraints:
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/train.py"


rule final_model:
    input:
        unpack(model_explanations),
        model=f"{FINAL_FOLD}/model.zip",
        features=f"{FINAL_FOLD}/features.json",
        info=f"{FINAL_FOLD}/model.json",
        record=f"{FINAL_FOLD}/record.json",
        metrics=METRICS,
        manifest=MANIFEST,
    output:
        model=f"{MODEL}/model.zip",
        features=f"{MODEL}/features.json",
        info=f"{MODEL}/model.json",
        card=f"{MODEL}/MODEL_CARD.md",
    log:
        "results/logs/final_model/{encoder}/{classifier}.log",
    benchmark:
        "results/benchmarks/final_model/{encoder}/{classifier}.tsv"
    params:
        corpus={k: config["dataset"].get(k) for k in ("kind", "source", "name", "speaker_regex")},
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/final_model.py"

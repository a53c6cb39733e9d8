# The plan of each (encoder, fold), (tuned) classifiers per (encoder, classifier, fold), final models
# on all clips (fold "all").


include: "inputs/train.smk"


rule plan:
    input:
        embeddings=train_embedding_shards,
        member_plans=member_plans,
        manifest="results/data/manifest.tsv",
        folds="results/data/folds.tsv",
    output:
        "results/cv/{encoder}/plans/fold-{fold}.json",
    log:
        "results/logs/plan/{encoder}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/plan/{encoder}/fold-{fold}.tsv"
    params:
        features=config["features"],
        augment_use=config["augment"]["use"],
        members=plan_members,
        seed=config["seed"],
        code=plan_code,
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
        "results/cv/{encoder}/layer_probe.tsv",
    log:
        "results/logs/layer_probe/{encoder}/table.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/layer_probe_table.py"


rule tune:
    input:
        embeddings=train_embedding_shards,
        manifest="results/data/manifest.tsv",
        folds="results/data/folds.tsv",
        plan="results/cv/{encoder}/plans/fold-{fold}.json",
    output:
        study="results/cv/{encoder}/{classifier}/fold-{fold}/study.sqlite3",
        best="results/cv/{encoder}/{classifier}/fold-{fold}/tuned.json",
    log:
        "results/logs/tune/{encoder}/{classifier}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/tune/{encoder}/{classifier}/fold-{fold}.tsv"
    params:
        config=classifier_config,
        tune=tune_settings,
        seed=config["seed"],
        code=tune_code,
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
        manifest="results/data/manifest.tsv",
        folds="results/data/folds.tsv",
        plan="results/cv/{encoder}/plans/fold-{fold}.json",
    output:
        model="results/cv/{encoder}/{classifier}/fold-{fold}/model.zip",
        features="results/cv/{encoder}/{classifier}/fold-{fold}/features.json",
        info="results/cv/{encoder}/{classifier}/fold-{fold}/model.json",
        record="results/cv/{encoder}/{classifier}/fold-{fold}/record.json",
        predictions="results/cv/{encoder}/{classifier}/fold-{fold}/predictions.tsv",
    log:
        "results/logs/train/{encoder}/{classifier}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/train/{encoder}/{classifier}/fold-{fold}.tsv"
    params:
        config=classifier_config,
        members=ensemble_members,
        seed=config["seed"],
        encoder=model_encoder_record,
        audio=model_audio_settings,
        code=train_code,
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
        model="results/cv/{encoder}/{classifier}/fold-all/model.zip",
        features="results/cv/{encoder}/{classifier}/fold-all/features.json",
        info="results/cv/{encoder}/{classifier}/fold-all/model.json",
        record="results/cv/{encoder}/{classifier}/fold-all/record.json",
        metrics="results/cv/{encoder}/{classifier}/metrics.json",
        manifest="results/data/manifest.tsv",
    output:
        model="results/models/{encoder}/{classifier}/model.zip",
        features="results/models/{encoder}/{classifier}/features.json",
        info="results/models/{encoder}/{classifier}/model.json",
        card="results/models/{encoder}/{classifier}/MODEL_CARD.md",
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

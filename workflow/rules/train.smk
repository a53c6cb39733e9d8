# Layer choice per fold, (tuned) classifiers per (encoder, classifier, fold), final models on all clips.


rule layer_probe:
    input:
        embeddings=train_embedding_shards,
        manifest="results/data/manifest.tsv",
        folds="results/data/folds.tsv",
    output:
        "results/cv/{encoder}/layers/fold-{fold}.json",
    log:
        "results/logs/layer_probe/{encoder}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/layer_probe/{encoder}/fold-{fold}.tsv"
    params:
        features=config["features"],
        augment_use=config["augment"].get("use", "auto"),
        seed=config["seed"],
        code=probe_code,
    threads: config["train"].get("threads", 2)
    resources:
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=config["train"].get("runtime", 120),
    wildcard_constraints:
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/layer_probe.py"


rule layer_probe_table:
    input:
        expand("results/cv/{{encoder}}/layers/fold-{fold}.json", fold=FOLDS),
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
        layers="results/cv/{encoder}/layers/fold-{fold}.json",
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
    threads: config["train"].get("threads", 2)
    resources:
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=config["train"].get("runtime", 120),
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
        layers="results/cv/{encoder}/layers/fold-{fold}.json",
    output:
        model="results/cv/{encoder}/{classifier}/fold-{fold}/model.zip",
        params="results/cv/{encoder}/{classifier}/fold-{fold}/params.json",
        predictions="results/cv/{encoder}/{classifier}/fold-{fold}/predictions.tsv",
    log:
        "results/logs/train/{encoder}/{classifier}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/train/{encoder}/{classifier}/fold-{fold}.tsv"
    params:
        config=classifier_config,
        seed=config["seed"],
        code=train_code,
    threads: config["train"].get("threads", 2)
    resources:
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=config["train"].get("runtime", 120),
    wildcard_constraints:
        fold=r"\d+|all",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/train.py"


rule final_model:
    input:
        model="results/cv/{encoder}/{classifier}/fold-all/model.zip",
        params="results/cv/{encoder}/{classifier}/fold-all/params.json",
        predictions=train_cv_predictions,
    output:
        model="results/models/{encoder}/{classifier}/model.zip",
        info="results/models/{encoder}/{classifier}/model.json",
    log:
        "results/logs/final_model/{encoder}/{classifier}.log",
    benchmark:
        "results/benchmarks/final_model/{encoder}/{classifier}.tsv"
    params:
        encoder=final_encoder_record,
        audio=final_audio_settings,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/final_model.py"


TARGETS.append(train_targets)

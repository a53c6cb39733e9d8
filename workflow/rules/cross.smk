# Cross-corpus runs (config `cross`, docs/cross_corpus.md): train on every clip of one corpus (labels
# mapped by `label_map`), predict every clip of another. The corpora's manifests and embeddings come from
# rules manifest and embed (results/corpora/{name}/... for an extra corpus, results/data and
# results/embeddings for the primary one, shared with its cross-validation).


include: "inputs/cross.smk"


wildcard_constraints:
    train=r"[A-Za-z0-9]+([._-][A-Za-z0-9]+)*",
    test=r"[A-Za-z0-9]+([._-][A-Za-z0-9]+)*",


rule cross_plan:
    input:
        embeddings=cross_train_embeddings,
        member_plans=cross_member_plans,
        manifest=cross_train_manifest,
    output:
        CROSS_PLAN,
    log:
        "results/logs/cross/models/{train}/{encoder}/plan.log",
    params:
        shards=cross_train_shards,
        label_map=config["label_map"],
        features=plan_features,
        augment_use=config["augment"]["use"],
        members=plan_members,
        seed=config["seed"],
        code=code_of("cross_plan"),
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/cross_plan.py"


rule cross_train:
    input:
        unpack(cross_members),
        embeddings=cross_train_embeddings,
        manifest=cross_train_manifest,
        plan=CROSS_PLAN,
    output:
        model=f"{CROSS_MODEL}/model.zip",
        features=f"{CROSS_MODEL}/features.json",
        info=f"{CROSS_MODEL}/model.json",
        record=f"{CROSS_MODEL}/record.json",
    log:
        "results/logs/cross/models/{train}/{encoder}/{classifier}.log",
    params:
        shards=cross_train_shards,
        label_map=config["label_map"],
        config=classifier_config,
        members=ensemble_members,
        seed=config["seed"],
        encoder=model_encoder_record,
        audio=model_audio_settings,
        code=code_of("cross_train"),
    threads: train_threads
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/cross_train.py"


rule cross_predict:
    input:
        model=f"{CROSS_MODEL}/model.zip",
        features=f"{CROSS_MODEL}/features.json",
        embeddings=cross_test_embeddings,
        manifest=cross_test_manifest,
        train_manifest=cross_train_manifest,
    output:
        f"{CROSS_PAIR}/predictions.tsv",
    log:
        "results/logs/cross/{train}__{test}/{encoder}/{classifier}/predict.log",
    params:
        shards=cross_test_shards,
        label_map=config["label_map"],
    threads: 1
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/cross_predict.py"


rule cross_aggregate:
    input:
        predictions=f"{CROSS_PAIR}/predictions.tsv",
        manifest=cross_test_manifest,
        train_manifest=cross_train_manifest,
    output:
        f"{CROSS_PAIR}/metrics.json",
    log:
        "results/logs/cross/{train}__{test}/{encoder}/{classifier}/aggregate.log",
    params:
        label_map=config["label_map"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/cross_aggregate.py"


rule cross_figures:
    input:
        metrics=f"{CROSS_PAIR}/metrics.json",
    output:
        confusion=report(
            f"{CROSS_PAIR}/confusion.png",
            caption="../report/cross_confusion.rst",
            category="4. Cross-corpus",
            subcategory="{train} -> {test}",
            labels={"encoder": "{encoder}", "classifier": "{classifier}", "figure": "confusion matrix"},
        ),
        per_class=report(
            f"{CROSS_PAIR}/per_class.png",
            caption="../report/cross_per_class.rst",
            category="4. Cross-corpus",
            subcategory="{train} -> {test}",
            labels={"encoder": "{encoder}", "classifier": "{classifier}", "figure": "per-class scores"},
        ),
    log:
        "results/logs/cross/{train}__{test}/{encoder}/{classifier}/figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/cross_figures.py"

# Explanations on the CV test folds: permutation importance of feature groups and nuisance checks
# (duration, loudness, speaker) per (encoder, classifier); the run's tables and HTML page (docs/explain.md).


include: "inputs/explain.smk"


rule clip_levels:
    input:
        manifest=MANIFEST,
    output:
        CLIP_LEVELS,
    log:
        "results/logs/explain/clip_levels.log",
    params:
        sample_rate=config["audio"]["sample_rate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/explain_levels.py"


rule explain:
    input:
        unpack(explain_inputs),
        manifest=MANIFEST,
        folds=FOLDS,
        levels=CLIP_LEVELS,
    output:
        importance=IMPORTANCE,
        nuisance=NUISANCE,
        figure=report(
            f"{CLASSIFIER}/importance.png",
            caption="../report/importance.rst",
            category="4. Explanations",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "classifier": "{classifier}", "figure": "importance on the test folds"},
        ),
    log:
        "results/logs/explain/{encoder}/{classifier}.log",
    benchmark:
        "results/benchmarks/explain/{encoder}/{classifier}.tsv"
    params:
        folds=explain_folds,
        shards=clean_shards,
        encoders=explain_encoders,
        repeats=config["explain"]["repeats"],
        max_features=config["explain"]["max_features"],
        seed=config["seed"],
        code=code_of("explain"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/explain.py"


rule explain_summary:
    input:
        importance=explain_pair_files(IMPORTANCE),
        nuisance=explain_pair_files(NUISANCE),
    output:
        importance=EXPLAIN_IMPORTANCE,
        nuisance=EXPLAIN_NUISANCE,
        html=report(
            EXPLANATIONS,
            caption="../report/explanations.rst",
            category="4. Explanations",
            labels={"figure": "explanations: importance and nuisance checks of every pair"},
        ),
    log:
        "results/logs/explain/summary.log",
    params:
        pairs=explain_pairs(),
        corpus=PRIMARY,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/explain_summary.py"

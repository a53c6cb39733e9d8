# Cross-validated predictions -> metrics.json per (encoder, classifier), results/summary.tsv, figures.


include: "inputs/evaluate.smk"


rule aggregate:
    input:
        predictions=cv_predictions,
        manifest=MANIFEST,
        folds=FOLDS,
        perception=perception_file,
    output:
        metrics=METRICS,
    log:
        "results/logs/aggregate/{encoder}/{classifier}.log",
    benchmark:
        "results/benchmarks/aggregate/{encoder}/{classifier}.tsv"
    params:
        protocol=config["cv"]["protocol"],
        perception_note=PERCEPTION_NOTE,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/aggregate.py"


rule classifier_figures:
    input:
        metrics=METRICS,
    output:
        confusion=report(
            f"{CLASSIFIER}/confusion.png",
            caption="../report/confusion.rst",
            category="2. Per classifier",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "classifier": "{classifier}", "figure": "confusion matrix"},
        ),
        per_class=report(
            f"{CLASSIFIER}/per_class.png",
            caption="../report/per_class.rst",
            category="2. Per classifier",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "classifier": "{classifier}", "figure": "per-class scores"},
        ),
    log:
        "results/logs/classifier_figures/{encoder}/{classifier}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plot_classifier.py"


rule summary:
    input:
        metrics=summary_metrics,
    output:
        SUMMARY,
    log:
        "results/logs/summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/summary.py"


rule leaderboard:
    input:
        SUMMARY,
    output:
        report(
            LEADERBOARD,
            caption="../report/leaderboard.rst",
            category="1. Overview",
            labels={"figure": "1. leaderboard: summary.tsv, best pooled UA first"},
        ),
    log:
        "results/logs/leaderboard.log",
    params:
        corpus=PRIMARY,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/leaderboard.py"


rule plot_comparison:
    input:
        summary=SUMMARY,
        metrics=all_metrics,
    output:
        report(
            f"{PLOTS}/comparison.png",
            caption="../report/comparison.rst",
            category="1. Overview",
            labels={"figure": "2. comparison of all encoder / classifier pairs"},
        ),
    log:
        "results/logs/plots/comparison.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plot_comparison.py"


rule plot_fold_scores:
    input:
        metrics=encoder_metrics,
    output:
        report(
            f"{PLOTS}/{{encoder}}/fold_scores.png",
            caption="../report/fold_scores.rst",
            category="3. Per encoder",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "figure": "per-fold scores"},
        ),
    log:
        "results/logs/plots/{encoder}/fold_scores.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plot_fold_scores.py"


rule plot_umap:
    input:
        embeddings=clean_embeddings,
        manifest=MANIFEST,
        plan=final_plan,
    output:
        report(
            f"{PLOTS}/{{encoder}}/umap.png",
            caption="../report/umap.rst",
            category="3. Per encoder",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "figure": "UMAP of embeddings"},
        ),
    log:
        "results/logs/plots/{encoder}/umap.log",
    benchmark:
        "results/benchmarks/plot_umap/{encoder}.tsv"
    params:
        shards=clean_shards,
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plot_umap.py"


rule plot_layer_probe:
    input:
        probe=LAYER_PROBE_TABLE,
        plan=final_plan,
    output:
        report(
            f"{PLOTS}/{{encoder}}/layer_probe.png",
            caption="../report/layer_probe.rst",
            category="3. Per encoder",
            subcategory="{encoder}",
            labels={"encoder": "{encoder}", "figure": "layer probe"},
        ),
    log:
        "results/logs/plots/{encoder}/layer_probe.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/plot_layer_probe.py"

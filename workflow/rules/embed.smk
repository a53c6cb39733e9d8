# Encoder weights (downloaded once or random-initialised) and per-shard embeddings of every variant.


include: "inputs/embed.smk"


localrules:
    download_model,


rule download_model:
    output:
        directory(f"{MODELS_DIR}/{{encoder}}"),
    log:
        "results/logs/download_model/{encoder}.log",
    params:
        repo_id=lambda wildcards: config["encoders"][wildcards.encoder]["model"],
        revision=lambda wildcards: config["encoders"][wildcards.encoder].get("revision"),
    wildcard_constraints:
        encoder=_encoder_regex("download"),
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/download_model.py"


rule init_model:
    output:
        directory(f"{MODELS_DIR}/{{encoder}}"),
    log:
        "results/logs/init_model/{encoder}.log",
    params:
        configs=init_config_texts,
        name=lambda wildcards: Path(init_config_file(wildcards)).parent.name,
        seed=lambda wildcards: int(config["encoders"][wildcards.encoder].get("init_seed", 0)),
    wildcard_constraints:
        encoder=_encoder_regex("init"),
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/init_model.py"


# Also the clean embeddings of an extra corpus (results/corpora/{name}/embeddings/..., see corpus_dir).
rule embed:
    input:
        audio=embed_audio,
        model=embed_model,
    output:
        EMBEDDINGS,
    log:
        "results/logs/embed/{corpus_dir}{encoder}/{variant}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/embed/{corpus_dir}{encoder}/{variant}/shard-{shard}.tsv"
    params:
        encoder=embed_spec,
        sample_rate=config["audio"]["sample_rate"],
        max_seconds=config["audio"]["max_seconds"],
    threads: config["embed"]["threads"]
    resources:
        mem_mb=config["embed"]["mem_mb"],
        runtime=config["embed"]["runtime"],
        gpu=embed_gpu,
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/embed.py"


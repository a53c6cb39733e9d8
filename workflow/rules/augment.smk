# Augmented copies of the clips, per copy index and shard. They only ever train (never tested on).


include: "inputs/augment.smk"


rule augment:
    input:
        augment_shard_table,
    output:
        AUDIO.replace("{variant}", "aug{n}"),
    log:
        "results/logs/augment/aug{n}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/augment/aug{n}/shard-{shard}.tsv"
    params:
        copy_index=lambda wildcards: int(wildcards.n),
        clip_ids=augment_clip_ids,
        transforms=AUG_TRANSFORMS,
        seed=config["seed"],
        sample_rate=config["audio"]["sample_rate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    wildcard_constraints:
        n=r"[1-9]\d*",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/augment.py"

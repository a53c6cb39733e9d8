# Corpus -> validated manifest -> cross-validation folds. check_clips and manifest also serve the extra
# corpora of cross-corpus runs (results/corpora/{name}/data/, see corpus_dir in common.smk).


include: "inputs/data.smk"


checkpoint demo_corpus:
    output:
        audio=directory(f"{DEMO_DIR}/AudioWAV"),
        demographics=f"{DEMO_DIR}/VideoDemographics.csv",
        targets=f"{DEMO_DIR}/targets.csv",  # each clip's arousal (dataset.targets; docs/regression.md)
    log:
        "results/logs/demo_corpus.log",
    params:
        seed=config["seed"],
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/demo_corpus.py"


rule check_clips:
    input:
        shard_audio,
    output:
        SHARD_TABLE,
    log:
        "results/logs/{corpus_dir}check_clips/shard-{shard}.log",
    params:
        clips=shard_clips,
        min_seconds=config["audio"]["min_seconds"],
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/check_clips.py"


rule manifest:
    input:
        shards=corpus_shard_tables,
        meta=dataset_meta_files,
    output:
        manifest=MANIFEST_OF,
        rejected=REJECTED_OF,
    log:
        "results/logs/{corpus_dir}manifest.log",
    params:
        dataset=manifest_dataset,
        max_rejected_fraction=config["audio"]["max_rejected_fraction"],
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/manifest.py"


# A declared continuous target's values (dataset.targets.<target>), apart from the manifest: declaring
# a target reruns no classification job (docs/regression.md).
rule target_values:
    input:
        manifest=MANIFEST,
        tables=target_value_tables,
    output:
        TARGET_VALUES,
    log:
        "results/logs/target_values/{target}.log",
    params:
        dataset=target_dataset,
    wildcard_constraints:
        target=r"[A-Za-z][A-Za-z0-9_]*",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/target_values.py"


# A checkpoint: with cv.protocol loso or predefined the folds (and so the fold-{k} jobs) are known
# only once folds.tsv exists (see cv_folds in common.smk).
checkpoint folds:
    input:
        unpack(fold_inputs),
        manifest=MANIFEST,
    output:
        FOLDS,
    log:
        "results/logs/folds.log",
    params:
        protocol=config["cv"]["protocol"],
        folds=config["cv"]["folds"],
        seed=config["seed"],
        predefined=predefined_folds_spec(),
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/folds.py"




# Only what decides the content is a param: retries, timeout_s and jobs are read from the config
# by the script, so tuning them never reruns this checkpoint (and the whole corpus downstream).
checkpoint download_cremad:
    output:
        audio=directory(f"{CREMAD_DOWNLOAD_DIR}/AudioWAV"),
        demographics=f"{CREMAD_DOWNLOAD_DIR}/VideoDemographics.csv",
        perception=f"{CREMAD_DOWNLOAD_DIR}/summaryTable.csv",
    log:
        "results/logs/download_cremad.log",
    params:
        store=f"{CREMAD_DOWNLOAD_DIR}/.download",
        pointer_url=config["dataset"]["download"]["pointer_url"],
        media_url=config["dataset"]["download"]["media_url"],
    localrule: True
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/download_cremad.py"

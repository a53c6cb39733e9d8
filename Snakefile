# Speech emotion recognition from frozen speech embeddings. See README.md.
from pathlib import Path


configfile: str(Path(workflow.basedir) / "config.yaml")


include: "workflow/rules/common.smk"


rule all:
    input:
        all_targets,
    default_target: True


include: "workflow/rules/data.smk"


include: "workflow/rules/augment.smk"


include: "workflow/rules/embed.smk"


include: "workflow/rules/train.smk"


include: "workflow/rules/evaluate.smk"


include: "workflow/rules/regress.smk"


include: "workflow/rules/explain.smk"


include: "workflow/rules/cross.smk"


include: "workflow/rules/report.smk"

"""Rule layer_probe_table: per fold, per layer probe score -> results/cv/{encoder}/layer_probe.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import json
import logging
from pathlib import Path

from speech_emotion.cache import write_tsv_atomic
from speech_emotion.training import probe_table

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
choices = [json.loads(Path(path).read_text(encoding="utf-8")) for path in snakemake.input]
table = probe_table(choices)
write_tsv_atomic(snakemake.output[0], table)
logging.info("wrote %s (%d rows)", snakemake.output[0], len(table))

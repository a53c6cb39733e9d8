"""MODEL_CARD.md of a final model folder, a Hugging Face model card.

Generated from what the workflow already wrote: model.json (:func:`final_model_info`), the fold-all
record.json (whether augmented copies trained), the classifier's CV metrics.json (:mod:`speech_emotion.evaluate.metrics`),
the manifest (clips, labels, speakers, durations) and the files of model.zip. It opens with the YAML
metadata the Hub and its tools read (:func:`card_data`: licence, tags, datasets, metrics,
``pipeline_tag``, ``library_name`` and a ``model-index`` with the CV results), built with
``huggingface_hub.ModelCardData``. Licences and citations of corpora and encoders come from two tables,
:data:`DATASETS` and :data:`ENCODERS`. Deterministic: the same inputs give the same bytes (no dates), so
the card never makes a rerun look stale.
"""

from __future__ import annotations

import json
import shlex
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..layout import MODEL
from .metrics import METRIC_LABELS, METRICS

CREMAD = (
    "CREMA-D (Crowd-sourced Emotional Multimodal Actors Dataset): 91 actors reading 12 English "
    "sentences in six emotions (ANG, DIS, FEA, HAP, NEU, SAD); **acted** speech, studio recordings."
)
DEMO = (
    "the workflow's **synthetic demo corpus** (results/demo/AudioWAV): voiced-syllable sequences whose "
    "pitch, loudness and rate depend on the emotion. It is not speech: this model is a smoke test "
    "and says nothing about emotion recognition."
)
OWN = (
    "a corpus given as a {kind} dataset. Its language, recording conditions and whether the "
    "emotions are acted or natural are not known to the workflow: add them here."
)


def corpus_text(corpus: Mapping[str, Any]) -> str:
    """One sentence on the training corpus from ``dataset.kind`` / ``dataset.source``."""
    kind = str(corpus.get("kind", "?"))
    if kind == "cremad":
        return DEMO if str(corpus.get("source")) == "demo" else CREMAD
    return OWN.format(kind=kind)


# --- licences and citations: one table for training corpora, one for encoders ------------------------

CREMAD_BIB = """@article{cao2014cremad,
  title = {{CREMA-D}: Crowd-sourced Emotional Multimodal Actors Dataset},
  author = {Cao, Houwei and Cooper, David G. and Keutmann, Michael K. and Gur, Ruben C. and Nenkova, Ani and Verma, Ragini},
  journal = {IEEE Transactions on Affective Computing},
  volume = {5}, number = {4}, pages = {377--390}, year = {2014},
  doi = {10.1109/TAFFC.2014.2336244}
}"""

DATASETS: dict[str, dict[str, Any]] = {
    "cremad": {
        "name": "CREMA-D", "id": "CREMA-D", "language": "en", "licence_id": "odbl",
        "licence": "Open Database License (ODbL) v1.0; the individual clips: Database Contents License (DbCL) v1.0",
        "url": "https://github.com/CheyneyComputerScience/CREMA-D", "citation": CREMAD_BIB,
    },
    "demo": {
        "name": "speech-emotion synthetic demo corpus", "id": "speech-emotion-synthetic-demo", "language": None,
        "licence_id": "mit", "licence": "made by the workflow's own code (MIT), not recorded speech",
        "url": None, "citation": None,
    },
    "other": {
        "name": None, "id": None, "language": None, "licence_id": "other",
        "licence": "unknown: set by the user (the workflow does not know the licence of a corpus of your own)",
        "url": None, "citation": None,
    },
}
"""Training corpora by ``dataset.kind`` (``demo``: kind cremad with source demo; ``other``: folder and manifest
corpora, named by ``dataset.name``). ``licence_id``: the Hub's licence identifier."""

ENCODERS: dict[str, dict[str, Any]] = {
    "wavlm": {
        "match": "microsoft/wavlm", "what": "WavLM (Microsoft)", "licence_id": "mit", "licence": "MIT",
        "url": "https://github.com/microsoft/unilm/tree/master/wavlm",
        "citation": """@article{chen2022wavlm,
  title = {{WavLM}: Large-Scale Self-Supervised Pre-Training for Full Stack Speech Processing},
  author = {Chen, Sanyuan and Wang, Chengyi and Chen, Zhengyang and Wu, Yu and Liu, Shujie and Chen, Zhuo and Li, Jinyu and others},
  journal = {IEEE Journal of Selected Topics in Signal Processing},
  volume = {16}, number = {6}, pages = {1505--1518}, year = {2022},
  doi = {10.1109/JSTSP.2022.3188113}
}""",
    },
    "whisper": {
        "match": "openai/whisper", "what": "Whisper (OpenAI)", "licence_id": "apache-2.0", "licence": "Apache-2.0",
        "url": "https://github.com/openai/whisper",
        "citation": """@inproceedings{radford2023whisper,
  title = {Robust Speech Recognition via Large-Scale Weak Supervision},
  author = {Radford, Alec and Kim, Jong Wook and Xu, Tao and Brockman, Greg and McLeavey, Christine and Sutskever, Ilya},
  booktitle = {Proceedings of the 40th International Conference on Machine Learning},
  pages = {28492--28518}, year = {2023}
}""",
    },
    "hubert": {
        "match": "facebook/hubert", "what": "HuBERT (Meta)", "licence_id": "apache-2.0", "licence": "Apache-2.0",
        "url": "https://github.com/facebookresearch/fairseq/tree/main/examples/hubert",
        "citation": """@article{hsu2021hubert,
  title = {{HuBERT}: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units},
  author = {Hsu, Wei-Ning and Bolte, Benjamin and Tsai, Yao-Hung Hubert and Lakhotia, Kushal and Salakhutdinov, Ruslan and Mohamed, Abdelrahman},
  journal = {IEEE/ACM Transactions on Audio, Speech, and Language Processing},
  volume = {29}, pages = {3451--3460}, year = {2021}
}""",
    },
    "emotion2vec": {
        "match": None, "what": "emotion2vec (FunASR)", "licence_id": "other",
        "licence": "FunASR Model Open Source License (the weights: name the source and the authors, keep the "
                   "model's name); the port of its model code in this workflow: MIT",
        "url": "https://github.com/modelscope/FunASR/blob/main/MODEL_LICENSE",
        "citation": """@inproceedings{ma2024emotion2vec,
  title = {emotion2vec: Self-Supervised Pre-Training for Speech Emotion Representation},
  author = {Ma, Ziyang and Zheng, Zhisheng and Ye, Jiaxin and Li, Jinchao and Gao, Zhifu and Zhang, Shiliang and Chen, Xie},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2024},
  pages = {15747--15760}, year = {2024}
}""",
    },
    "opensmile": {
        "match": None, "what": "openSMILE (audEERING)", "licence_id": "other",
        "licence": "audEERING's openSMILE licence: free for private, research and educational use; commercial use "
                   "needs a licence from audEERING GmbH",
        "url": "https://github.com/audeering/opensmile/blob/master/LICENSE",
        "citation": """@inproceedings{eyben2010opensmile,
  title = {{openSMILE}: The {Munich} Versatile and Fast Open-Source Audio Feature Extractor},
  author = {Eyben, Florian and W{\\"o}llmer, Martin and Schuller, Bj{\\"o}rn},
  booktitle = {Proceedings of the 18th ACM International Conference on Multimedia},
  pages = {1459--1462}, year = {2010}
}""",
    },
    "random": {
        "match": None, "what": "random weights", "licence_id": None,
        "licence": "no pretrained weights: random weights the workflow made (MIT) for an architecture of Hugging Face "
                   "transformers (Apache-2.0)",
        "url": None, "citation": None,
    },
    "unknown": {
        "match": None, "what": "a Hugging Face model", "licence_id": None,
        "licence": "not known to the workflow: read the model's own card on the Hub",
        "url": None, "citation": None,
    },
}
"""Encoder families: licence (of the weights the encoder loads, or of openSMILE) and citation. ``match``: the
model-id prefix of a Hugging Face family; emotion2vec and openSMILE by ``kind``, random weights by ``init_config``."""

WORKFLOW_BIB = """@software{speech_emotion,
  title = {speech-emotion: speech emotion recognition from frozen speech embeddings as a {Snakemake} workflow},
  author = {{the speech-emotion contributors}},
  version = {%s},
  note = {MIT License}
}"""


def dataset_facts(corpus: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`DATASETS` entry of a ``dataset`` config (``kind``, ``source``, ``name``), name filled in."""
    kind = str(corpus.get("kind", "?"))
    key = ("demo" if str(corpus.get("source")) == "demo" else "cremad") if kind == "cremad" else "other"
    facts = dict(DATASETS[key])
    if key == "other":
        name = str(corpus.get("name") or "own corpus")
        facts.update(name=f"{name} ({kind} corpus)", id=name)
    return facts


def encoder_facts(spec: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`ENCODERS` entry of one encoder's spec (``encoders.<name>``)."""
    kind = spec.get("kind")
    if kind == "opensmile":
        return ENCODERS["opensmile"]
    if spec.get("init_config"):
        return ENCODERS["random"]
    if kind == "emotion2vec":
        return ENCODERS["emotion2vec"]
    model = str(spec.get("model", ""))
    return next((facts for facts in ENCODERS.values() if facts["match"] and model.startswith(facts["match"])),
                ENCODERS["unknown"])


def _members(info: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The encoder records of model.json: one, or each member of a fusion."""
    return list(info["encoder"].get("members") or [info["encoder"]])


# --- the metadata the Hub reads ----------------------------------------------------------------------

METRIC_IDS = {  # name in metrics.json -> (Hub/evaluate metric id, its args, what the card calls it)
    "balanced_accuracy": ("recall", {"average": "macro"}, "UA (unweighted average recall, balanced accuracy)"),
    "accuracy": ("accuracy", None, "WA (accuracy)"),
    "f1_macro": ("f1", {"average": "macro"}, "macro-F1"),
}


def card_data(info: Mapping[str, Any], metrics: Mapping[str, Any], corpus: Mapping[str, Any]) -> Any:
    """The card's metadata as ``huggingface_hub.ModelCardData``: licence (the training corpus's), tags
    (speech-emotion-recognition, audio-classification, the encoder(s), the classifier), datasets, metrics,
    ``pipeline_tag``, ``library_name``, ``base_model`` (a pretrained Hugging Face encoder) and a ``model-index``
    with the CV results: UA, WA and macro-F1, pooled and fold mean, with the protocol in the dataset's args."""
    from huggingface_hub import EvalResult, ModelCardData

    data = dataset_facts(corpus)
    encoder, classifier = info["encoder"]["name"], info["classifier"]
    members = _members(info)
    protocol, n_folds, overlap = _protocol_args(metrics)
    how = protocol_text(protocol, n_folds, overlap)[0].replace("**", "")
    results = []
    for name, (metric_id, args, label) in METRIC_IDS.items():
        values = metrics.get(name) or {}
        for key, what in (("pooled", f"pooled over the {n_folds} folds' out-of-fold predictions"),
                          ("mean", f"mean of {n_folds} folds")):
            if values.get(key) is None:
                continue
            results.append(EvalResult(
                task_type="audio-classification", task_name="Speech emotion recognition",
                dataset_type=data["id"], dataset_name=data["name"], dataset_split=f"cross-validation ({protocol})",
                dataset_args={"protocol": protocol, "folds": n_folds, "clips": metrics.get("n_clips"),
                              "speakers_on_both_sides": overlap, "description": how},
                metric_type=metric_id, metric_args=args, metric_name=f"{label}, {what}",
                metric_value=round(float(values[key]), 4)))
    base = [str(m["spec"]["model"]) for m in members
            if m["spec"].get("kind") in ("hf", "emotion2vec") and not m["spec"].get("init_config") and m["spec"].get("model")]
    tags = ["speech-emotion-recognition", "audio-classification", *(m["name"] for m in members),
            *([encoder] if len(members) > 1 else []), classifier]
    licence = {"license": data["licence_id"]}
    if data["licence_id"] == "other":
        licence |= {"license_name": "unknown"}
    return ModelCardData(
        **licence, language=data["language"], library_name="speech-emotion", pipeline_tag="audio-classification",
        tags=list(dict.fromkeys(tags)), datasets=[data["id"]], metrics=[m[0] for m in METRIC_IDS.values()],
        base_model=(base[0] if len(base) == 1 else base) or None,
        model_name=f"speech-emotion {encoder} + {classifier}", eval_results=results or None,
    )


def front_matter(info: Mapping[str, Any], metrics: Mapping[str, Any], corpus: Mapping[str, Any]) -> str:
    """The YAML front matter (``---`` lines included) of :func:`card_data`."""
    return "---\n" + card_data(info, metrics, corpus).to_yaml() + "\n---\n"


# --- sections ----------------------------------------------------------------------------------------

FORMATS = (  # how each kind of file in model.zip is stored
    (".sklearn", "scikit-learn object as JSON parameters + .npy arrays"),
    (".npy", "numpy array"),
    (".ubj", "XGBoost booster (UBJSON)"),
    (".pt", "torch state_dict (tensors only, loaded with weights_only=True)"),
)


def archive_files(path: str | Path) -> list[str]:
    """The files inside a model.zip (an ensemble's member archives opened too, as ``members/<name>.zip/<file>``),
    without the manifests."""
    import io

    def names(archive: zipfile.ZipFile, prefix: str) -> list[str]:
        out = []
        for name in archive.namelist():
            if name == "manifest.json":
                continue
            if name.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(archive.read(name))) as inner:
                    out += names(inner, f"{prefix}{name}/")
            else:
                out.append(prefix + name)
        return out

    with zipfile.ZipFile(path) as archive:
        return names(archive, "")


def _files_line(files: Sequence[str] | None) -> str:
    tail = "`features.json` (the feature pipeline), `model.json` (everything else predict needs)."
    if not files:
        return f"- Files: `model.zip` (the classifier, with a SHA-256 manifest; no pickle), {tail}"
    parts = []
    for name in files:
        what = next((text for suffix, text in FORMATS if name.endswith(suffix)), "file")
        parts.append(f"`{name}` ({what})")
    return (f"- Files: `model.zip` holds {', '.join(parts)} and a manifest with their SHA-256 (nothing is "
            f"unpickled); {tail}")


def _licence_lines(info: Mapping[str, Any], corpus: Mapping[str, Any]) -> list[str]:
    data = dataset_facts(corpus)
    link = f" (<{data['url']}>)" if data.get("url") else ""
    lines = [f"- **Training data**: {data['name']}{link}: {data['licence']}. The card's `license` is this licence: "
             "the classifier in `model.zip` was fitted on this data."]
    for member in _members(info):
        facts = encoder_facts(member["spec"])
        link = f" (<{facts['url']}>)" if facts.get("url") else ""
        runs = ("openSMILE is not in this folder, but every prediction runs it" if member["spec"].get("kind") == "opensmile"
                else "its weights are not in this folder, but every prediction runs them")
        lines.append(f"- **Encoder** `{member['name']}` ({facts['what']}): {facts['licence']}{link}; {runs}.")
    lines.append("- **This workflow** (speech-emotion, the code that trained and runs the model): MIT.")
    lines += ["", "Check all of them before you publish or use the model: the workflow cannot decide its licence for you."]
    return lines


def _citation_lines(info: Mapping[str, Any], corpus: Mapping[str, Any]) -> list[str]:
    from .. import __version__

    entries = [dataset_facts(corpus)["citation"]]
    for member in _members(info):
        entries.append(encoder_facts(member["spec"])["citation"])
        if str(member["spec"].get("feature_set", "")).lower().startswith("egemaps"):
            entries.append("""@article{eyben2016gemaps,
  title = {The {Geneva} Minimalistic Acoustic Parameter Set ({GeMAPS}) for Voice Research and Affective Computing},
  author = {Eyben, Florian and Scherer, Klaus R. and Schuller, Bj{\\"o}rn W. and others},
  journal = {IEEE Transactions on Affective Computing},
  volume = {7}, number = {2}, pages = {190--202}, year = {2016}
}""")
    entries.append(WORKFLOW_BIB % __version__)
    entries = list(dict.fromkeys(e for e in entries if e))
    return ["If you use this model, cite the training corpus, the encoder and the workflow:", "", "```bibtex",
            "\n\n".join(entries), "```"]


def _version_lines(info: Mapping[str, Any]) -> list[str]:
    versions = info.get("versions") or {}
    if not versions:
        return ["Not recorded (a model made before the workflow recorded them)."]
    return ["Made with " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ". Loading it "
            "under other versions warns, naming them; `speech-emotion info` lists them."]


SPEAKER_REGEX_CREMAD = r"^(\d+)_"
"""The speaker of a CREMA-D-named file (1001_DFA_ANG_XX.wav: 1001)."""


def speaker_option(corpus: Mapping[str, Any]) -> list[str] | None:
    """How to give a file's speaker for files named like the training corpus's: predict options, or None
    when the file names do not say (a CSV table is then the generic way)."""
    if str(corpus.get("kind")) == "cremad":
        return ["--speaker-regex", SPEAKER_REGEX_CREMAD]
    if str(corpus.get("kind")) == "folder" and corpus.get("speaker_regex"):
        return ["--speaker-regex", str(corpus["speaker_regex"])]
    return None


def _usage_lines(info: Mapping[str, Any], manifest: pd.DataFrame, corpus: Mapping[str, Any]) -> list[str]:
    """How to use: commands that run as written in the workflow's folder (on a training clip of the manifest
    when it has paths), speakers passed when the model needs them."""
    encoder, classifier = info["encoder"]["name"], info["classifier"]
    folder = MODEL.format(encoder=encoder, classifier=classifier)
    norm = bool((info.get("speaker_norm") or {}).get("use"))
    q = shlex.quote
    if "path" in manifest.columns and len(manifest):
        first = manifest.iloc[0]
        clip, speaker = str(first["path"]), str(first["speaker"])
    else:
        clip, speaker = "a.wav", "anna"
    option = speaker_option(corpus)
    who = " ".join(q(o) for o in option) if option else "--speakers speakers.csv"
    # one speaker's clips together (a per-speaker model standardises them with their own statistics)
    many = f"{q(str(Path(clip).parent))}/{q(speaker)}_*" if option and option[1] == SPEAKER_REGEX_CREMAD else q(clip)
    lines = ["Run in the workflow's folder (the paths are relative to it; the examples label the corpus's own "
             "clips, so they run as written there). `speech-emotion info " + folder + "` prints what the model "
             "needs.", "", "```bash"]
    given = f" {who}" if norm else ""
    lines += [f"speech-emotion predict --model {folder}{given} {many} > labels.tsv",
              f"speech-emotion predict --model {folder}{given} --segment vad --summary shares.tsv {q(clip)}"]
    lines += [f"speech-emotion info {folder}", "```", ""]
    if norm:
        min_clips = (info.get("speaker_norm") or {}).get("min_clips")
        how = ("the first group of the regex on the file name" if option else
               "from a CSV/TSV with columns file,speaker; or `--speaker-regex REGEX` (first group on the file name), "
               "`--speaker-from-folder`")
        lines += [f"This model standardises features **per speaker**: give each file's speaker ({how}); it refuses "
                  "to run without. A call's files of one speaker are standardised with their own statistics, so give "
                  f"several recordings of each speaker together (a speaker with fewer than {min_clips} files gets the "
                  "training population's). To label one speaker's recordings one at a time, enrol the speaker once:",
                  "", "```bash"]
        if many != q(clip):
            lines += [f"speech-emotion enrol --model {folder} --speaker {q(speaker)} --out {q(speaker)}.json {many}",
                      f"speech-emotion predict --model {folder} --enrolment {q(speaker)}.json {who} {q(clip)}"]
        else:
            lines += [f"speech-emotion enrol --model {folder} --speaker anna --out anna.json enrolment/anna/",
                      f"speech-emotion predict --model {folder} --enrolment anna.json --speaker-from-folder recordings/"]
        lines += ["```", ""]
    lines += ["```python", "from speech_emotion import load_model", "", f'model = load_model("{folder}")']
    if norm:
        lines.append(f'table = model.predict([{clip!r}], speakers=[{speaker!r}])  # file, speaker, label, prob_<label>..., speaker_norm, error')
    else:
        lines.append(f"table = model.predict([{clip!r}])  # pandas DataFrame: file, label, prob_<label>..., error")
    lines += ["```", ""]
    return lines


def _f(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def data_table(manifest: pd.DataFrame, labels: Sequence[str]) -> list[str]:
    """Clips, speakers and minutes of audio per label, and in total."""
    rows = []
    has_duration = "duration_s" in manifest.columns
    for label in [*labels, None]:
        part = manifest if label is None else manifest[manifest["label"].astype(str) == label]
        row = ["**all**" if label is None else label, len(part), part["speaker"].nunique()]
        if has_duration:
            row.append(f"{part['duration_s'].sum() / 60:.1f}")
        rows.append(row)
    return _table(["label", "clips", "speakers", *(["minutes"] if has_duration else [])], rows)


def _encoder_lines(info: Mapping[str, Any]) -> list[str]:
    enc = info["encoder"]
    spec = enc["spec"]
    if spec.get("kind") == "fusion":
        lines = [f"- **Encoder** `{enc['name']}`: the features of {len(enc['members'])} encoders side by side, each "
                 "on the layers its own plan chose:"]
        for member in enc["members"]:
            sub = {**info, "encoder": member, "layers": info["layers"][member["name"]],
                   "layer_choice": (info.get("layer_choice") or {}).get("members", {}).get(member["name"]),
                   "n_features": None}
            lines += ["  " + line for line in _encoder_lines(sub)]
        return lines + [f"- **Features**: {info.get('n_features', '?')} in all, concatenated."]
    if spec.get("kind") == "opensmile":
        what = f"openSMILE `{spec.get('feature_set')}` functionals (hand-crafted acoustic features, one vector per clip)"
    elif spec.get("init_config"):
        arch = "emotion2vec (FunASR)" if spec.get("kind") == "emotion2vec" else "Hugging Face"
        what = (f"{arch} architecture from `{spec['init_config']}` with **random weights** (seed "
                f"{spec.get('init_seed', 0)}): not a pretrained model")
    else:
        rev = f" at revision `{spec['revision']}`" if spec.get("revision") else ""
        what = f"frozen Hugging Face model `{spec.get('model')}`{rev}" + (" (real-length Whisper input)" if spec.get("real_length") else "")
        if spec.get("kind") == "emotion2vec":
            what = (f"frozen emotion2vec model `{spec.get('model')}`{rev} (Ma et al. 2024, a FunASR checkpoint; its weights "
                    "are under the FunASR Model Open Source License, which asks you to name that source)")
    if spec.get("kind") == "opensmile":
        return [f"- **Encoder** `{enc['name']}`: {what}.",
                f"- **Features**: the {info.get('n_features') or 'openSMILE'} functionals, computed over the whole clip."]
    choice = info.get("layer_choice") or {}
    how = {"probe": "chosen by a logistic-regression probe under speaker-grouped inner CV on the training clips",
           "config": "fixed by `features.layers`"}.get(str(choice.get("method")), "")
    total = f" of {choice['n_layers']}" if choice.get("n_layers") else ""
    return [
        f"- **Encoder** `{enc['name']}`: {what}.",
        f"- **Layers** {list(info['layers'])}{total} (0 = the convolutional/embedding output){', ' + how if how else ''}; "
        "each layer's frames pooled as mean ++ std; chosen layers concatenated"
        + (f" ({info['n_features']} features)." if info.get("n_features") else "."),
    ]


def _classifier_lines(info: Mapping[str, Any], augment: Mapping[str, Any] | None) -> list[str]:
    params = {k: v for k, v in (info.get("params") or {}).items() if v is not None}
    lines = [f"- **Classifier** `{info['classifier']}` (features standardised, classes weighted by frequency): "
             f"`{json.dumps(params, sort_keys=True)}`."]
    if info.get("selected"):
        lines.append(f"- Chosen by the fit itself (inner CV, early stopping, blend weights): `{json.dumps(info['selected'], sort_keys=True)}`.")
    if info.get("tuned"):
        lines.append(f"- Tuned (Optuna, nested inner CV): `{json.dumps(info['tuned'], sort_keys=True)}`.")
    norm = info.get("speaker_norm") or {}
    if norm.get("use"):
        lines.append(f"- Features standardised **per speaker** (mean and spread of each speaker's own clips; speakers "
                     f"with fewer than {norm.get('min_clips')} clips get the training population's): pass the speaker "
                     "of each file to predict (`speakers=`, `--speaker-regex`, `--speaker-from-folder`, `--speakers`).")
    if augment:
        if augment.get("use"):
            lines.append(f"- Augmented copies trained ({augment.get('copy_rows')} rows besides the clean clips).")
        elif augment.get("copy_rows"):
            lines.append(f"- Augmented copies were available but not used: the probe scored {_f(augment.get('score_without'))} "
                         f"without and {_f(augment.get('score_with'))} with them.")
    lines.append(f"- Trained on all {info.get('n_train_clips', '?')} clean clips (seed {info.get('seed')}).")
    return lines


INDEPENDENT = "no speaker in both the training and the test part of a fold"
SHARED = "speakers were shared between training and test folds"
UNKNOWN = "it is not known whether any speaker was on both sides of a fold"


def protocol_text(protocol: str, n_folds: Any, overlap: int | None = None) -> tuple[str, str | None]:
    """How the card says the model was evaluated, and the limitation that follows (None: speaker-independent).

    ``protocol``: ``cv.protocol`` (speaker, loso, predefined, stratified); ``overlap``: the number of speakers
    on both sides of a fold (metrics.json ``speaker_overlap.n_speakers``; None: not recorded). Every sentence
    of the card about the protocol comes from here, so the evaluation and the limitations never disagree.
    """
    def shared(count: int) -> tuple[str, str]:
        return (f"**{count} speaker(s) occur on both sides**, which overstates accuracy on new speakers",
                f"{SHARED} ({count} speaker(s) on both sides), which overstates accuracy on new speakers")

    if protocol == "stratified":
        return (f"{n_folds}-fold `stratified` cross-validation (label-stratified folds, **speakers occur in both "
                "training and test folds**, which overstates accuracy on new speakers)",
                f"{SHARED} (`stratified` folds), which overstates accuracy on new speakers")
    if protocol in ("speaker", "loso"):
        kind = (f"**leave-one-speaker-out** cross-validation ({n_folds} folds, one per speaker)" if protocol == "loso"
                else f"{n_folds}-fold **speaker-independent** cross-validation")
        if overlap:  # not expected of these protocols; the card reports what metrics.json recorded
            how, limitation = shared(overlap)
            return f"{kind}; {how}", limitation
        how = f"{kind}, {INDEPENDENT}: the scores estimate accuracy on new speakers of the same corpus"
        if protocol == "loso":
            how += ("; a held-out speaker often has one or two of the emotions, so per-fold scores swing: read the "
                    "pooled UA against chance 1/classes")
        return how, None
    if protocol == "predefined":
        kind = f"the corpus's own {n_folds} test fold(s) (`predefined`)"
        if overlap is None:
            return (f"{kind}; whether a speaker is on both sides of a fold was not recorded", UNKNOWN)
        if overlap:
            how, limitation = shared(overlap)
            return f"{kind}; {how}", limitation
        return f"{kind}; {INDEPENDENT}", None
    return f"{n_folds}-fold `{protocol}` cross-validation", f"{UNKNOWN} (`{protocol}`)"


def limitation_line(protocol: str, n_folds: Any, overlap: int | None = None) -> str:
    """The card's limitation bullet on what the scores estimate, from :func:`protocol_text`."""
    limitation = protocol_text(protocol, n_folds, overlap)[1]
    scope = ("- The scores above estimate accuracy on **new speakers of the same corpus**"
             + (f" ({INDEPENDENT})" if limitation is None else f" only loosely: {limitation}"))
    return scope + ". Other corpora, microphones, noise and channels usually cost accuracy; validate on your own data."


def _protocol_args(metrics: Mapping[str, Any]) -> tuple[str, Any, int | None]:
    overlap = metrics.get("speaker_overlap")
    count = int(overlap.get("n_speakers", 0)) if isinstance(overlap, Mapping) else None
    return str(metrics.get("protocol", "speaker")), metrics.get("n_folds", "?"), count


def _metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    how, _ = protocol_text(*_protocol_args(metrics))
    chance = metrics.get("chance", {})
    rows = [[METRIC_LABELS[m], f"{_f(metrics[m]['mean'])} ± {_f(metrics[m]['std'])}", _f(metrics[m]["pooled"]),
             _f(chance.get(m)) if m in chance else ""] for m in METRICS if m in metrics]
    lines = [f"Protocol: {how}; {metrics.get('n_clips', '?')} clips, each predicted once by the fold that held it "
             "out. Every choice (layers, C, epochs, weights, augmentation) was made inside the training folds.", ""]
    lines += _table(["metric", "fold mean ± std", "pooled", "chance"], rows)
    per_class = metrics.get("per_class") or {}
    if per_class:
        lines += ["", "Per class (pooled over folds):", ""]
        lines += _table(["label", "recall", "precision", "F1", "clips"],
                        [[k, _f(v["recall"]), _f(v["precision"]), _f(v["f1"]), v["support"]] for k, v in per_class.items()])
    conf = metrics.get("confusion")
    if conf:
        lines += ["", "Confusion matrix (counts; rows: true label, columns: predicted):", ""]
        lines += _table(["true \\ predicted", *conf["labels"]],
                        [[label, *row] for label, row in zip(conf["labels"], conf["counts"])])
    speakers = metrics.get("per_speaker")
    if speakers:
        lines += ["", f"Accuracy per speaker ({speakers['n_speakers']} speakers): min {_f(speakers['min'])}, "
                  f"median {_f(speakers['median'])}, max {_f(speakers['max'])}."]
    return lines


def _human_lines(metrics: Mapping[str, Any]) -> list[str]:
    human = metrics.get("human_baseline") or {}
    if not human.get("available"):
        return [f"Not known for this corpus ({human.get('reason', 'no perception data')})."]
    lines = [f"Listeners who heard only the audio ({human.get('source', '')}), on the same {human['n_clips']} clips:", ""]
    rows = [["listeners", _f(human["human"]["accuracy"]), _f(human["human"]["balanced_accuracy"])],
            ["this model (CV)", _f(human["model"]["accuracy"]), _f(human["model"]["balanced_accuracy"])]]
    lines += _table(["", "accuracy (WA)", "UA"], rows)
    per_class = human.get("per_class") or {}
    if per_class:
        lines += ["", "Recall per class, listeners vs this model: "
                  + ", ".join(f"{k} {_f(v['human'], 2)} vs {_f(v['model'], 2)}" for k, v in per_class.items()) + "."]
    return lines


def model_card(
    info: Mapping[str, Any],
    metrics: Mapping[str, Any],
    manifest: pd.DataFrame,
    corpus: Mapping[str, Any],
    augment: Mapping[str, Any] | None = None,
    files: Sequence[str] | None = None,
) -> str:
    """MODEL_CARD.md text for a final model folder: YAML front matter (:func:`card_data`), then the card.

    ``info``: model.json; ``metrics``: the pair's CV metrics.json; ``manifest``: the accepted clips
    (path, label, speaker, duration_s); ``corpus``: ``{"kind", "source", "name", "speaker_regex"}`` of the
    dataset config; ``augment``: the fold-all record.json's copies decision (``copies``); ``files``: the files
    in model.zip (:func:`archive_files`).
    """
    encoder, classifier = info["encoder"]["name"], info["classifier"]
    labels = list(info["labels"])
    ua = metrics.get("balanced_accuracy", {})
    synthetic = str(corpus.get("kind")) == "cremad" and str(corpus.get("source")) == "demo"
    acted = str(corpus.get("kind")) == "cremad" and not synthetic
    if synthetic:
        style = ("The training data is **synthetic** (not speech): this model only shows that the workflow runs; "
                 "do not use its labels.")
    elif acted:
        style = ("The training speech is **acted**: actors portraying emotions in read sentences. Spontaneous "
                 "emotion is subtler and more mixed; expect lower accuracy on it.")
    else:
        style = "Whether the training speech is acted or natural decides what the model learnt; see Training data."
    lines = [
        front_matter(info, metrics, corpus),
        f"# Speech emotion model: {encoder} + {classifier}",
        "",
        f"Labels a speech recording with one of {len(labels)} emotions ({', '.join(labels)}): frozen "
        f"`{encoder}` features, classifier `{classifier}`. Cross-validated UA (balanced accuracy): "
        f"{_f(ua.get('mean'))} ± {_f(ua.get('std'))} over folds, {_f(ua.get('pooled'))} pooled "
        f"(chance {_f((metrics.get('chance') or {}).get('balanced_accuracy'))}).",
        "",
        "Generated by the speech-emotion workflow (rule `final_model`) from model.json, the CV metrics.json "
        "and the manifest; edit a copy, not this file (it is rewritten when the model is rebuilt).",
        "",
        "## Model",
        "",
        *_encoder_lines(info),
        *_classifier_lines(info, augment),
        f"- Audio: mono, {info.get('audio', {}).get('sample_rate', 16000)} Hz; recordings longer than "
        f"{info.get('audio', {}).get('max_seconds')} s are cut into windows whose frames are pooled together.",
        _files_line(files),
        "",
        "## Training data",
        "",
        f"Trained on {corpus_text(corpus)}",
        "",
        *data_table(manifest, labels),
        "",
        "## Evaluation",
        "",
        *_metric_lines(metrics),
        "",
        "### Human baseline",
        "",
        *_human_lines(metrics),
        "",
        "## Intended use",
        "",
        "Research on speech emotion recognition: labelling recordings similar to the training corpus (language, "
        "speaking style, recording conditions) to compare methods or to explore a collection. Not for decisions "
        "about people (hiring, health, policing, credit).",
        "",
        "## Limitations",
        "",
        f"- {style}",
        "- Language: " + ("English." if acted else "that of the training corpus.")
        + " Other languages and accents change prosody and the encoder's features.",
        limitation_line(*_protocol_args(metrics)),
        f"- Exactly one of {len(labels)} labels per clip or segment: no 'other', mixed or uncertain class; "
        "read the probabilities.",
        "- Trained on short clips: label long recordings by segments (`--segment vad`), not as one clip.",
        "",
        "## How to use",
        "",
        *_usage_lines(info, manifest, corpus),
        ("The encoder weights are not in this folder: predict loads them from "
         f"`{info['encoder'].get('model_dir')}` (as recorded in model.json); pass `--encoder-dir` / "
         "`encoder_dir=` when they live elsewhere." if info["encoder"].get("model_dir") else
         "The encoder (openSMILE) needs no weights."),
        "",
        "## Licences",
        "",
        *_licence_lines(info, corpus),
        "",
        "## Versions",
        "",
        *_version_lines(info),
        "",
        "## Citation",
        "",
        *_citation_lines(info, corpus),
        "",
    ]
    return "\n".join(lines)


# --- speech-emotion info ----------------------------------------------------------------------------


def _encoder_summary(record: Mapping[str, Any], layers: Sequence[int] | None) -> str:
    spec = record["spec"]
    if spec.get("kind") == "opensmile":
        what = f"openSMILE {spec.get('feature_set')} functionals"
    elif spec.get("init_config"):
        what = f"random weights from {spec['init_config']}, not pretrained"
    else:
        what = str(spec.get("model"))
    where = f"; weights {record['model_dir']}" if record.get("model_dir") else ""
    return f"{record['name']} ({what}), layers {list(layers or [])}{where}"


def model_summary(path: str | Path) -> list[tuple[str, str]]:
    """``speech-emotion info``: (field, text) lines on a model folder from its model.json and features.json
    (nothing heavy is imported: no torch, no classifier is loaded). Raises ModelFileError for a folder that
    is not a model."""
    from ..train.classifiers import ModelFileError
    from ..train.features import FEATURES_FILE, FeatureSpec
    from ..io.versions import version_differences

    path = Path(path)
    try:
        info = json.loads((path / "model.json").read_text(encoding="utf-8"))
        spec = FeatureSpec.read(path / info.get("features_file", FEATURES_FILE))
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path}: not a model folder ({exc})") from exc
    except ValueError as exc:
        raise ModelFileError(f"{path}: damaged model folder ({exc})") from exc
    layers = {m.encoder: m.layers for m in spec.members}
    encoders = "; ".join(_encoder_summary(r, layers.get(r["name"])) for r in _members(info))
    lines = [("model", str(path)), ("labels", ", ".join(info["labels"])), ("encoder", encoders),
             ("classifier", str(info["classifier"]))]
    if spec.speaker_norm:
        lines.append(("speakers", f"NEEDED (features standardised per speaker; fewer than {spec.min_clips} files of a "
                                  "speaker in a call: the training population's statistics): --speaker-regex REGEX, "
                                  "--speaker-from-folder or --speakers TABLE; or --enrolment FILE from 'speech-emotion "
                                  "enrol --model M --speaker NAME --out FILE clips...'"))
    else:
        lines.append(("speakers", "not needed (no per-speaker standardisation); --speaker-* options only add a "
                                  "speaker column"))
    cv = info.get("cv") or {}
    if cv.get("balanced_accuracy"):
        scores = []
        for name, label in (("balanced_accuracy", "UA"), ("accuracy", "WA"), ("f1_macro", "macro-F1")):
            value = cv.get(name) or {}
            if value:
                scores.append(f"{label} {_f(value.get('pooled'))} pooled, {_f(value.get('mean'))} ± "
                              f"{_f(value.get('std'))} fold mean")
        chance = (cv.get("chance") or {}).get("balanced_accuracy")
        protocol = cv.get("protocol", "speaker")
        lines.append(("cv", f"{cv.get('folds', '?')} folds ({protocol}), {cv.get('clips', '?')} clips: "
                            + "; ".join(scores) + f"; chance UA {_f(chance)}"))
    else:
        lines.append(("cv", "no scores in model.json (a CV fold or cross-corpus model: see its metrics.json)"))
    versions = info.get("versions") or {}
    if versions:
        text = ", ".join(f"{name} {version}" for name, version in versions.items())
        differences = version_differences(versions)
        if differences:
            text += "; DIFFERENT here: " + ", ".join(f"{name} {here or 'not installed'}"
                                                     for name, (_, here) in differences.items())
        lines.append(("versions", text))
    else:
        lines.append(("versions", "not recorded (a model made before the workflow recorded them)"))
    return lines

"""The texts of a model card that come from tables and rules rather than from the model's numbers.

The training corpus (:data:`DATASETS`) and encoder families (:data:`ENCODERS`) with their licences and
citations, the card's licence (front matter and Licences section, :func:`card_licence`), the citation
block, the protocol sentences (:func:`protocol_text`), "How to use" (:func:`usage_lines`: commands run in the
model folder itself, the speaker option for files named like the corpus's) and which CV figure a user gets
when (:func:`lone_clip_sentence`).
:mod:`speech_emotion.evaluate.model_card` assembles the card from them; ``speech-emotion info``
(:mod:`speech_emotion.evaluate.model_info`) reads the same sentences. Whether the model standardises per
speaker, and from how many clips, comes from its feature pipeline (features.json,
:class:`~speech_emotion.train.features.FeatureSpec`), never from model.json.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..layout import MODEL
from ..predict.portable import encoder_records, weights_lines

if TYPE_CHECKING:
    from ..train.features import FeatureSpec

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

APACHE = "https://www.apache.org/licenses/LICENSE-2.0"

DATASETS: dict[str, dict[str, Any]] = {
    "cremad": {
        "name": "CREMA-D", "id": "CREMA-D", "language": "en", "licence_id": "odbl", "licence_name": "odbl-1.0",
        "licence": "Open Database License (ODbL) v1.0; the individual clips: Database Contents License (DbCL) v1.0",
        "licence_url": "https://opendatacommons.org/licenses/odbl/1-0/",
        "url": "https://github.com/CheyneyComputerScience/CREMA-D", "citation": CREMAD_BIB,
    },
    "demo": {
        "name": "speech-emotion synthetic demo corpus", "id": "speech-emotion-synthetic-demo", "language": None,
        "licence_id": "mit", "licence_name": "mit", "licence_url": None,
        "licence": "made by the workflow's own code (MIT), not recorded speech", "url": None, "citation": None,
    },
    "other": {
        "name": None, "id": None, "language": None, "licence_id": "other", "licence_name": "unknown-corpus-licence",
        "licence_url": None,
        "licence": "unknown: set by the user (the workflow does not know the licence of a corpus of your own)",
        "url": None, "citation": None,
    },
}
"""Training corpora by ``dataset.kind`` (``demo``: kind cremad with source demo; ``other``: folder and manifest
corpora, named by ``dataset.name``). ``licence_id``: the Hub's licence identifier; ``licence_name``: the id the
card's ``license_name`` uses when the model's licence is ``other``; ``licence_url``: the licence text."""

ENCODERS: dict[str, dict[str, Any]] = {
    "wavlm": {
        "match": "microsoft/wavlm", "what": "WavLM (Microsoft)", "licence_id": "mit", "licence_name": "mit",
        "licence": "MIT", "licence_url": None, "url": "https://github.com/microsoft/unilm/tree/master/wavlm",
        "citation": """@article{chen2022wavlm,
  title = {{WavLM}: Large-Scale Self-Supervised Pre-Training for Full Stack Speech Processing},
  author = {Chen, Sanyuan and Wang, Chengyi and Chen, Zhengyang and Wu, Yu and Liu, Shujie and Chen, Zhuo and Li, Jinyu and others},
  journal = {IEEE Journal of Selected Topics in Signal Processing},
  volume = {16}, number = {6}, pages = {1505--1518}, year = {2022},
  doi = {10.1109/JSTSP.2022.3188113}
}""",
    },
    "whisper": {
        "match": "openai/whisper", "what": "Whisper (OpenAI)", "licence_id": "apache-2.0", "licence_name": "apache-2.0",
        "licence": "Apache-2.0", "licence_url": APACHE, "url": "https://github.com/openai/whisper",
        "citation": """@inproceedings{radford2023whisper,
  title = {Robust Speech Recognition via Large-Scale Weak Supervision},
  author = {Radford, Alec and Kim, Jong Wook and Xu, Tao and Brockman, Greg and McLeavey, Christine and Sutskever, Ilya},
  booktitle = {Proceedings of the 40th International Conference on Machine Learning},
  pages = {28492--28518}, year = {2023}
}""",
    },
    "hubert": {
        "match": "facebook/hubert", "what": "HuBERT (Meta)", "licence_id": "apache-2.0", "licence_name": "apache-2.0",
        "licence": "Apache-2.0", "licence_url": APACHE,
        "url": "https://github.com/facebookresearch/fairseq/tree/main/examples/hubert",
        "citation": """@article{hsu2021hubert,
  title = {{HuBERT}: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units},
  author = {Hsu, Wei-Ning and Bolte, Benjamin and Tsai, Yao-Hung Hubert and Lakhotia, Kushal and Salakhutdinov, Ruslan and Mohamed, Abdelrahman},
  journal = {IEEE/ACM Transactions on Audio, Speech, and Language Processing},
  volume = {29}, pages = {3451--3460}, year = {2021}
}""",
    },
    "emotion2vec": {
        "match": None, "what": "emotion2vec (FunASR)", "licence_id": "other", "licence_name": "funasr-model-license",
        "licence": "FunASR Model Open Source License (the weights: name the source and the authors, keep the "
                   "model's name); the port of its model code in this workflow: MIT",
        "licence_url": "https://github.com/modelscope/FunASR/blob/main/MODEL_LICENSE",
        "url": "https://github.com/modelscope/FunASR/blob/main/MODEL_LICENSE",
        "citation": """@inproceedings{ma2024emotion2vec,
  title = {emotion2vec: Self-Supervised Pre-Training for Speech Emotion Representation},
  author = {Ma, Ziyang and Zheng, Zhisheng and Ye, Jiaxin and Li, Jinchao and Gao, Zhifu and Zhang, Shiliang and Chen, Xie},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2024},
  pages = {15747--15760}, year = {2024}
}""",
    },
    "opensmile": {
        "match": None, "what": "openSMILE (audEERING)", "licence_id": "other", "licence_name": "audeering-opensmile",
        "licence": "audEERING's openSMILE licence: free for private, research and educational use; commercial use "
                   "needs a licence from audEERING GmbH",
        "licence_url": "https://github.com/audeering/opensmile/blob/master/LICENSE",
        "url": "https://github.com/audeering/opensmile/blob/master/LICENSE",
        "citation": """@inproceedings{eyben2010opensmile,
  title = {{openSMILE}: The {Munich} Versatile and Fast Open-Source Audio Feature Extractor},
  author = {Eyben, Florian and W{\\"o}llmer, Martin and Schuller, Bj{\\"o}rn},
  booktitle = {Proceedings of the 18th ACM International Conference on Multimedia},
  pages = {1459--1462}, year = {2010}
}""",
    },
    "random": {
        "match": None, "what": "random weights", "licence_id": "mit", "licence_name": "mit", "licence_url": None,
        "licence": "no pretrained weights: random weights the workflow made (MIT) for an architecture of Hugging Face "
                   "transformers (Apache-2.0, the library, not part of this folder)",
        "url": None, "citation": None,
    },
    "unknown": {
        "match": None, "what": "a Hugging Face model", "licence_id": None, "licence_name": "unknown-encoder-licence",
        "licence_url": None, "licence": "not known to the workflow: read the model's own card on the Hub",
        "url": None, "citation": None,
    },
}
"""Encoder families: licence (of the weights the encoder loads, or of openSMILE) and citation. ``match``: the
model-id prefix of a Hugging Face family; emotion2vec and openSMILE by ``kind``, random weights by ``init_config``."""

GEMAPS_BIB = """@article{eyben2016gemaps,
  title = {The {Geneva} Minimalistic Acoustic Parameter Set ({GeMAPS}) for Voice Research and Affective Computing},
  author = {Eyben, Florian and Scherer, Klaus R. and Schuller, Bj{\\"o}rn W. and others},
  journal = {IEEE Transactions on Affective Computing},
  volume = {7}, number = {2}, pages = {190--202}, year = {2016}
}"""

WORKFLOW_YEAR = 2026
"""The year of this version of speech-emotion (the workflow's citation); update it with ``__version__``."""

WORKFLOW_BIB = """@misc{{speech_emotion_{key},
  title = {{speech-emotion: speech emotion recognition from frozen speech embeddings as a {{Snakemake}} workflow}},
  author = {{{{the speech-emotion contributors}}}},
  year = {{{year}}},
  howpublished = {{Python package and Snakemake workflow speech-emotion, version {version}}},
  note = {{MIT License}}
}}"""
"""The workflow's own BibTeX entry: standard BibTeX ``@misc`` (the project has no public URL: the package
name and version say which code made the model)."""


def workflow_citation() -> str:
    """BibTeX of this version of the workflow."""
    from .. import __version__

    return WORKFLOW_BIB.format(key=__version__.replace(".", "_"), year=WORKFLOW_YEAR, version=__version__)


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


def card_licence(info: Mapping[str, Any], corpus: Mapping[str, Any]) -> dict[str, str]:
    """The front matter's licence fields: ``license: mit`` only when the training corpus and every encoder are
    MIT (the workflow is); otherwise ``license: other`` with ``license_name`` joining the ids of those that are
    not (e.g. ``odbl-1.0-and-audeering-opensmile``) and ``license_link`` the first one's licence text."""
    facts = [dataset_facts(corpus), *(encoder_facts(m["spec"]) for m in encoder_records(info))]
    others = [f for f in facts if f["licence_id"] != "mit"]
    if not others:
        return {"license": "mit"}
    out = {"license": "other", "license_name": "-and-".join(dict.fromkeys(f["licence_name"] for f in others))}
    link = next((f["licence_url"] for f in others if f.get("licence_url")), None)
    return out | ({"license_link": link} if link else {})


def licence_lines(info: Mapping[str, Any], corpus: Mapping[str, Any]) -> list[str]:
    """The Licences section: corpus, each encoder, the workflow, and what the front matter's licence says."""
    data = dataset_facts(corpus)
    link = f" (<{data['url']}>)" if data.get("url") else ""
    lines = [f"- **Training data**: {data['name']}{link}: {data['licence']}; the classifier in `model.zip` was "
             "fitted on this data."]
    for member in encoder_records(info):
        facts = encoder_facts(member["spec"])
        link = f" (<{facts['url']}>)" if facts.get("url") else ""
        runs = ("openSMILE is not in this folder (the `opensmile` package), but every prediction runs it"
                if member["spec"].get("kind") == "opensmile" else "every prediction runs its weights")
        lines.append(f"- **Encoder** `{member['name']}` ({facts['what']}): {facts['licence']}{link}; {runs}.")
    lines.append("- **This workflow** (speech-emotion, the code that trained and runs the model): MIT.")
    licence = card_licence(info, corpus)
    if licence["license"] == "mit":
        lines += ["", "All of them are MIT: the front matter says `license: mit`."]
    else:
        lines += ["", f"Not all of them are MIT: the front matter says `license: other` (`license_name: "
                      f"{licence['license_name']}`), and whoever publishes or uses the model is bound by each licence "
                      "above."]
    return lines + ["Check them before you publish or use the model: the workflow cannot decide its licence for you."]


def citation_lines(info: Mapping[str, Any], corpus: Mapping[str, Any]) -> list[str]:
    """The Citation section: BibTeX of the corpus, each encoder (and GeMAPS) and the workflow."""
    entries = [dataset_facts(corpus)["citation"]]
    for member in encoder_records(info):
        entries.append(encoder_facts(member["spec"])["citation"])
        if str(member["spec"].get("feature_set", "")).lower().startswith("egemaps"):
            entries.append(GEMAPS_BIB)
    entries.append(workflow_citation())
    entries = list(dict.fromkeys(e for e in entries if e))
    return ["If you use this model, cite the training corpus, the encoder and the workflow:", "", "```bibtex",
            "\n\n".join(entries), "```"]


# --- the evaluation protocol ---------------------------------------------------------------------------

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


def protocol_args(metrics: Mapping[str, Any]) -> tuple[str, Any, int | None]:
    """(protocol, folds, speakers on both sides or None) of a CV metrics.json, for :func:`protocol_text`."""
    overlap = metrics.get("speaker_overlap")
    count = int(overlap.get("n_speakers", 0)) if isinstance(overlap, Mapping) else None
    return str(metrics.get("protocol", "speaker")), metrics.get("n_folds", "?"), count


# --- speakers: the option to pass, and which CV figure a user gets -------------------------------------

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


def usage_lines(info: Mapping[str, Any], features: FeatureSpec, manifest: pd.DataFrame, corpus: Mapping[str, Any],
                bundled: Collection[str] = ()) -> list[str]:
    """How to use: commands run in the model folder itself (``--model .``), as after a download from the Hub, on
    recordings named like the training corpus's in ``recordings/``; the speaker option the model needs (``features``:
    whether it standardises per speaker); where the encoder weights are (:func:`weights_lines`: in the folder for
    the encoders named in ``bundled``)."""
    folder = MODEL.format(encoder=info["encoder"]["name"], classifier=info["classifier"])
    q = shlex.quote
    if "path" in manifest.columns and len(manifest):
        name, speaker = Path(str(manifest.iloc[0]["path"])).name, str(manifest.iloc[0]["speaker"])
    else:
        name, speaker = "a.wav", "anna"
    clip = q(f"recordings/{name}")
    option = speaker_option(corpus)
    who = " ".join(q(o) for o in option) if option else "--speakers speakers.csv"
    # one speaker's clips together (a per-speaker model standardises them with their own statistics)
    many = f"recordings/{q(speaker)}_*" if option and option[1] == SPEAKER_REGEX_CREMAD else clip
    given = f" {who}" if features.speaker_norm else ""
    lines = ["Run these in this model's folder, the one that holds this card (as downloaded from the Hub, or copied); "
             f"from elsewhere give its path instead of `.` (in the workflow that made it: `{folder}`). The examples label "
             "recordings named like the training corpus's, in a folder `recordings/`: put yours there.", "",
             "```bash", "speech-emotion info .", f"speech-emotion predict --model .{given} {many} > labels.tsv",
             f"speech-emotion predict --model .{given} --segment vad --summary shares.tsv {clip}", "```", ""]
    if features.speaker_norm:
        if option:
            how = (f"**Speakers**: pass `{who}`: the speaker is the first group of the regex on the file name "
                   f"(`{name}`: `{speaker}`); files named otherwise: `--speakers TABLE` (CSV/TSV with columns "
                   "file,speaker) or `--speaker-from-folder` (one folder per speaker).")
        else:
            how = ("**Speakers**: pass `--speakers speakers.csv` (a CSV/TSV with columns file,speaker), or "
                   "`--speaker-regex REGEX` (the first group on the file name) or `--speaker-from-folder`.")
        lines += [f"{how} This model standardises features **per speaker** and refuses to run without a speaker option. "
                  "A call's files of one speaker are standardised with their own statistics, so give several recordings "
                  f"of each speaker together (a speaker with fewer than {features.min_clips} files, and a file without "
                  "a speaker, gets the training population's; `--no-speakers` labels each file alone that way, see "
                  "\"one clip alone\" under Evaluation). To label one speaker's recordings one at a time, enrol the "
                  "speaker once:", "", "```bash"]
        if many != clip:
            lines += [f"speech-emotion enrol --model . --speaker {q(speaker)} --out {q(speaker)}.json {many}",
                      f"speech-emotion predict --model . --enrolment {q(speaker)}.json {who} {clip}"]
        else:
            lines += ["speech-emotion enrol --model . --speaker anna --out anna.json enrolment/anna/",
                      "speech-emotion predict --model . --enrolment anna.json recordings/anna/   # every file is anna"]
        lines += ["```", ""]
    else:
        lines += ["**Speakers**: no option needed: this model does not standardise per speaker (`--speaker-regex` and "
                  "the other speaker options only add a `speaker` column).", ""]
    lines += ["```python", "from speech_emotion import load_model", "",
              f'model = load_model(".")  # this folder (in the workflow that made it: load_model("{folder}"))']
    path = repr(f"recordings/{name}")
    if features.speaker_norm:
        lines.append(f"table = model.predict([{path}], speakers=[{speaker!r}])  "
                     "# file, speaker, label, prob_<label>..., speaker_norm, error")
    else:
        lines.append(f"table = model.predict([{path}])  # pandas DataFrame: file, label, prob_<label>..., error")
    return lines + ["```", "", "Encoder weights (where predict finds them):", "", *weights_lines(info, bundled)]


LONE_ROWS = ("each speaker's own clips (what CV reports)", "one clip alone (population statistics)")
"""The two CV conditions of a model that standardises per speaker, as the card and ``info`` name them."""


def lone_clip(info: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """model.json's ``cv.lone_clip`` (each test clip labelled alone), or None when no CV fold standardised
    features per speaker (the CV figures are then those of one clip alone too)."""
    return (info.get("cv") or {}).get("lone_clip") or None


def lone_clip_folds(info: Mapping[str, Any]) -> str:
    """How many CV folds standardised per speaker: what makes the two figures differ, or why they do not."""
    lone = lone_clip(info)
    if not lone:
        return "no CV fold standardised features per speaker, so a file labelled alone scores as CV reports"
    done, folds = len(lone["folds_standardised"]), lone["n_folds"]
    return (f"{done} of {folds} CV folds standardised features per speaker"
            + (" (in the others a clip is labelled the same either way)" if done < folds else ""))


def lone_clip_sentence(features: FeatureSpec) -> str:
    """Which of the two figures (:data:`LONE_ROWS`) a user of this model gets, and when (``features``: the model's
    feature pipeline, whether it standardises per speaker)."""
    if features.speaker_norm:
        return ("This model standardises per speaker: you get the first figure when you pass several clips of each "
                f"speaker in one call (at least {features.min_clips}, with a speaker option) or an enrolment, the "
                "second when a file is labelled alone or without its speaker.")
    return ("This model does not standardise per speaker: a file's label does not depend on the other files of a "
            "call or on a speaker option.")


# --- small formatting helpers --------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    """A score with ``digits`` decimals, ``n/a`` for None."""
    return "n/a" if value is None else f"{float(value):.{digits}f}"


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]

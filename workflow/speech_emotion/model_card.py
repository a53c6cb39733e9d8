"""MODEL_CARD.md of a final model folder, in the spirit of Hugging Face model cards.

Generated from what the workflow already wrote: model.json (:func:`final_model_info`), the fold-all
record.json (whether augmented copies trained), the classifier's CV metrics.json (:mod:`speech_emotion.metrics`)
and the manifest (clips, labels, speakers, durations). Deterministic: the same inputs give the
same bytes (no dates), so the card never makes a rerun look stale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

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
    probe = {"ridge": "ridge"}.get(str(choice.get("probe")), "logistic-regression")  # plans before the key: logreg
    how = {"probe": f"chosen by a {probe} probe under speaker-grouped inner CV on the training clips",
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
) -> str:
    """MODEL_CARD.md text for a final model folder.

    ``info``: model.json; ``metrics``: the pair's CV metrics.json; ``manifest``: the accepted clips
    (label, speaker, duration_s); ``corpus``: ``{"kind", "source"}`` of the dataset config;
    ``augment``: the fold-all record.json's copies decision (``copies``).
    """
    encoder, classifier = info["encoder"]["name"], info["classifier"]
    labels = list(info["labels"])
    ua = metrics.get("balanced_accuracy", {})
    folder = f"results/models/{encoder}/{classifier}"
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
        "- Files: `model.zip` (scikit-learn parts in skops, XGBoost JSON, torch state_dict; SHA-256 manifest, "
        "no pickle), `model.json` (everything else predict needs).",
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
        "```bash",
        f"speech-emotion predict --model {folder} a.wav b.wav folder/",
        f"speech-emotion predict --model {folder} --segment vad --summary shares.tsv interview.wav",
        "```",
        "",
        "```python",
        "from speech_emotion import load_model",
        "",
        f'model = load_model("{folder}")',
        'table = model.predict(["a.wav", "b.wav"])  # pandas DataFrame: file, label, prob_<label>..., error',
        "```",
        "",
        ("The encoder weights are not in this folder: predict loads them from "
         f"`{info['encoder'].get('model_dir')}` (as recorded in model.json); pass `--encoder-dir` / "
         "`encoder_dir=` when they live elsewhere." if info["encoder"].get("model_dir") else
         "The encoder (openSMILE) needs no weights."),
        "",
    ]
    return "\n".join(lines)

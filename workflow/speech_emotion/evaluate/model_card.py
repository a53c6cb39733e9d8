"""MODEL_CARD.md of a final model folder, a Hugging Face model card.

Generated from what the workflow already wrote: features.json (the feature pipeline,
:class:`~speech_emotion.train.features.FeatureSpec`: the layers of each encoder and their weights, per-speaker
standardisation, whether augmented copies trained; the card reads these decisions nowhere else), model.json
(:func:`final_model_info`, with the CV figures and, where a fold standardised per speaker, those of one clip alone,
and ``layer_choice``: how the layers were chosen), the fold-all record.json (the copies' evidence: how many rows,
the probe's scores), the classifier's CV metrics.json (:mod:`speech_emotion.evaluate.metrics`), the
manifest (clips, labels, speakers, durations), the files of model.zip and, where the explain stage ran for the
pair, its importance.tsv and nuisance.tsv (the CV fold models' explanations, :mod:`speech_emotion.explain`). It opens with the YAML metadata
the Hub and its tools read (:func:`card_data`: licence, tags, datasets, metrics, ``pipeline_tag``,
``library_name`` and a ``model-index`` with the CV results), built with ``huggingface_hub.ModelCardData``.
The texts that come from tables (corpora, encoders, licences, citations, protocols) are in
:mod:`speech_emotion.evaluate.card_text`; the block on where the encoder weights are is
:func:`speech_emotion.predict.portable.weights_lines`, which ``speech-emotion bundle`` rewrites. The "How
to use" commands run in the model folder itself (``--model .``), as after a download from the Hub.
Deterministic: the same inputs give the same bytes (no dates), so the card never makes a rerun look stale.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..predict.portable import encoder_records
from .card_text import (  # noqa: F401 - dataset_facts .. protocol_text: re-exported, callers import them from here
    LONE_ROWS, card_licence, citation_lines, corpus_text, dataset_facts, encoder_facts,
    fmt, licence_lines, limitation_line, lone_clip, lone_clip_folds, lone_clip_sentence, md_table,
    protocol_args, protocol_text, usage_lines,
)
from .metrics import METRIC_LABELS, METRICS
from .model_info import model_summary  # noqa: F401 - re-exported: `speech-emotion info` imports it from here

if TYPE_CHECKING:
    from ..train.features import FeatureSpec

# --- the metadata the Hub reads ----------------------------------------------------------------------

METRIC_IDS = {  # name in metrics.json -> (Hub/evaluate metric id, its args, what the card calls it)
    "balanced_accuracy": ("recall", {"average": "macro"}, "UA (unweighted average recall, balanced accuracy)"),
    "accuracy": ("accuracy", None, "WA (accuracy)"),
    "f1_macro": ("f1", {"average": "macro"}, "macro-F1"),
}


def card_data(info: Mapping[str, Any], metrics: Mapping[str, Any], corpus: Mapping[str, Any]) -> Any:
    """The card's metadata as ``huggingface_hub.ModelCardData``: licence (:func:`card_licence`), tags
    (speech-emotion-recognition, audio-classification, the encoder(s), the classifier), datasets, metrics,
    ``pipeline_tag``, ``library_name``, ``base_model`` (a pretrained Hugging Face encoder) and a ``model-index``
    with one result, the CV on the training corpus (protocol in the dataset's args), whose metrics are UA, WA and
    macro-F1, each pooled and as the fold mean, and the same of one clip alone where model.json has them: each
    metric told apart by its ``config`` (``pooled``, ``fold-mean``, ``pooled-one-clip-alone``, ...)."""
    from huggingface_hub import EvalResult, ModelCardData

    data = dataset_facts(corpus)
    encoder, classifier = info["encoder"]["name"], info["classifier"]
    members = encoder_records(info)
    protocol, n_folds, overlap = protocol_args(metrics)
    how = protocol_text(protocol, n_folds, overlap)[0].replace("**", "")
    conditions = [("", "", metrics)]
    if lone_clip(info):
        conditions.append(("-one-clip-alone", "; each clip labelled alone (population statistics)", lone_clip(info)))
    results = []
    for suffix, alone, scores in conditions:
        for name, (metric_id, args, label) in METRIC_IDS.items():
            values = scores.get(name) or {}
            for key, config, what in (("pooled", "pooled", f"pooled over the {n_folds} folds' out-of-fold predictions"),
                                      ("mean", "fold-mean", f"mean of {n_folds} folds")):
                if values.get(key) is None:
                    continue
                results.append(EvalResult(
                    task_type="audio-classification", task_name="Speech emotion recognition",
                    dataset_type=data["id"], dataset_name=data["name"], dataset_split=f"cross-validation ({protocol})",
                    dataset_args={"protocol": protocol, "folds": n_folds, "clips": metrics.get("n_clips"),
                                  "speakers_on_both_sides": overlap, "description": how},
                    metric_type=metric_id, metric_args=args, metric_config=config + suffix,
                    metric_name=f"{label}, {what}{alone}", metric_value=round(float(values[key]), 4)))
    base = [str(m["spec"]["model"]) for m in members
            if m["spec"].get("kind") in ("hf", "emotion2vec") and not m["spec"].get("init_config") and m["spec"].get("model")]
    tags = ["speech-emotion-recognition", "audio-classification", *(m["name"] for m in members),
            *([encoder] if len(members) > 1 else []), classifier]
    return ModelCardData(
        **card_licence(info, corpus), language=data["language"], library_name="speech-emotion",
        pipeline_tag="audio-classification", tags=list(dict.fromkeys(tags)), datasets=[data["id"]],
        metrics=[m[0] for m in METRIC_IDS.values()], base_model=(base[0] if len(base) == 1 else base) or None,
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


def _version_lines(info: Mapping[str, Any]) -> list[str]:
    versions = info.get("versions") or {}
    if not versions:
        return ["Not recorded (a model made before the workflow recorded them)."]
    return ["Made with " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ". Loading it "
            "under other versions warns, naming them; `speech-emotion info` lists them."]


WHISPER_SECONDS = 30.0
"""Whisper's input length: its encoder windows never exceed it (speech_emotion.embed.encoders.HFEncoder)."""


def _audio_lines(info: Mapping[str, Any]) -> list[str]:
    """What happens to a long recording, as :func:`speech_emotion.embed.embeddings.embed_signals` does it:
    openSMILE takes it whole; a Hugging Face encoder cuts it into equal windows of at most ``audio.max_seconds``
    (Whisper: at most 30 s) and pools the frames of all windows."""
    audio = info.get("audio") or {}

    def how(record: Mapping[str, Any]) -> str:
        spec = record["spec"]
        if spec.get("kind") == "opensmile":
            return "openSMILE computes its functionals over the whole recording, however long (no windows)"
        window = audio.get("max_seconds")
        if "whisper" in f"{spec.get('model', '')} {spec.get('init_config', '')}".lower():
            window = min(float(window or WHISPER_SECONDS), WHISPER_SECONDS)
        if not window:
            return "each recording is encoded whole"
        return f"recordings longer than {window} s are cut into equal windows whose frames are pooled together"

    head = f"- Audio: mono, {audio.get('sample_rate', 16000)} Hz"
    records = encoder_records(info)
    if len(records) == 1:
        return [f"{head}; {how(records[0])}."]
    return [f"{head}; per encoder:", *(f"  - `{r['name']}`: {how(r)}." for r in records)]


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
    return md_table(["label", "clips", "speakers", *(["minutes"] if has_duration else [])], rows)


def _encoder_lines(info: Mapping[str, Any], features: FeatureSpec) -> list[str]:
    """The encoder and its layers (features.json's member of that encoder; how they were chosen: model.json's
    ``layer_choice``); a fusion's members each so."""
    enc = info["encoder"]
    spec = enc["spec"]
    if spec.get("kind") == "fusion":
        lines = [f"- **Encoder** `{enc['name']}`: the features of {len(enc['members'])} encoders side by side, each "
                 "on the layers its own plan chose:"]
        for member in enc["members"]:
            sub = {**info, "encoder": member, "n_features": None,
                   "layer_choice": ((info.get("layer_choice") or {}).get("members") or {}).get(member["name"])}
            lines += ["  " + line for line in _encoder_lines(sub, features)]
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
                f"- **Features**: the {info.get('n_features') or 'openSMILE'} functionals of the whole recording."]
    member = features.member(enc["name"])
    if member is None:
        raise ValueError(f"features.json has no member for encoder {enc['name']!r} (members {features.encoders})")
    choice = info.get("layer_choice") or {}
    probe = ("a ridge-regression probe of the target scored by concordance correlation (CCC)"
             if (info.get("plan") or {}).get("metric") == "ccc" else "a logistic-regression probe")
    how = {"probe": f"chosen by {probe} under speaker-grouped inner CV on the training clips",
           "config": "fixed by `features.layers`"}.get(str(choice.get("method")), "")
    total = f" of {choice['n_layers']}" if choice.get("n_layers") else ""
    joined = ("summed with learned weights " + ", ".join(f"{w:.2f}" for w in member.weights) if member.weights
              else "chosen layers concatenated")
    return [
        f"- **Encoder** `{enc['name']}`: {what}.",
        f"- **Layers** {list(member.layers)}{total} (0 = the convolutional/embedding output){', ' + how if how else ''}; "
        f"each layer's frames pooled as mean ++ std; {joined}"
        + (f" ({info['n_features']} features)." if info.get("n_features") else "."),
    ]


def _classifier_lines(info: Mapping[str, Any], features: FeatureSpec, augment: Mapping[str, Any] | None) -> list[str]:
    params = {k: v for k, v in (info.get("params") or {}).items() if v is not None}
    lines = [f"- **Classifier** `{info['classifier']}` (features standardised, classes weighted by frequency): "
             f"`{json.dumps(params, sort_keys=True)}`."]
    if info.get("selected"):
        lines.append(f"- Chosen by the fit itself (inner CV, early stopping, blend weights): `{json.dumps(info['selected'], sort_keys=True)}`.")
    if info.get("tuned"):
        lines.append(f"- Tuned (Optuna, nested inner CV): `{json.dumps(info['tuned'], sort_keys=True)}`.")
    if features.speaker_norm:
        lines.append(f"- Features standardised **per speaker** (mean and spread of each speaker's own clips; speakers "
                     f"with fewer than {features.min_clips} clips get the training population's): pass the speaker "
                     "of each file to predict (`speakers=`, `--speaker-regex`, `--speaker-from-folder`, `--speakers`).")
    augment = augment or {}
    if features.copies:
        rows = f" ({augment['copy_rows']} rows besides the clean clips)" if augment.get("copy_rows") else ""
        lines.append(f"- Augmented copies trained{rows}.")
    elif augment.get("copy_rows"):
        lines.append(f"- Augmented copies were available but not used: the probe scored {fmt(augment.get('score_without'))} "
                     f"without and {fmt(augment.get('score_with'))} with them.")
    lines.append(f"- Trained on all {info.get('n_train_clips', '?')} clean clips (seed {info.get('seed')}).")
    return lines


def _metric_lines(info: Mapping[str, Any], features: FeatureSpec, metrics: Mapping[str, Any]) -> list[str]:
    how, _ = protocol_text(*protocol_args(metrics))
    chance = metrics.get("chance", {})
    rows = [[METRIC_LABELS[m], f"{fmt(metrics[m]['mean'])} ± {fmt(metrics[m]['std'])}", fmt(metrics[m]["pooled"]),
             fmt(chance.get(m)) if m in chance else ""] for m in METRICS if m in metrics]
    lines = [f"Protocol: {how}; {metrics.get('n_clips', '?')} clips, each predicted once by the fold that held it "
             "out. Every choice (layers, C, epochs, weights, augmentation) was made inside the training folds.", ""]
    lines += md_table(["metric", "fold mean ± std", "pooled", "chance"], rows)
    per_class = metrics.get("per_class") or {}
    if per_class:
        lines += ["", "Per class (pooled over folds):", ""]
        lines += md_table(["label", "recall", "precision", "F1", "clips"],
                        [[k, fmt(v["recall"]), fmt(v["precision"]), fmt(v["f1"]), v["support"]] for k, v in per_class.items()])
    conf = metrics.get("confusion")
    if conf:
        lines += ["", "Confusion matrix (counts; rows: true label, columns: predicted):", ""]
        lines += md_table(["true \\ predicted", *conf["labels"]],
                        [[label, *row] for label, row in zip(conf["labels"], conf["counts"])])
    speakers = metrics.get("per_speaker")
    if speakers:
        lines += ["", f"Accuracy per speaker ({speakers['n_speakers']} speakers): min {fmt(speakers['min'])}, "
                  f"median {fmt(speakers['median'])}, max {fmt(speakers['max'])}."]
    return lines + _condition_lines(info, features, metrics)


def _condition_lines(info: Mapping[str, Any], features: FeatureSpec, metrics: Mapping[str, Any]) -> list[str]:
    """Each speaker's own clips (the CV figures) against one clip alone (model.json ``cv.lone_clip``), and which
    of them a user gets when."""
    lone = lone_clip(info)
    if not lone:
        return ["", f"Each speaker's own clips and one clip alone score the same here: {lone_clip_folds(info)}."]
    rows = []
    for label, scores in zip(LONE_ROWS, (metrics, lone)):
        ua, wa, f1 = (scores.get(name) or {} for name in ("balanced_accuracy", "accuracy", "f1_macro"))
        rows.append([label, fmt(ua.get("pooled")), f"{fmt(ua.get('mean'))} ± {fmt(ua.get('std'))}", fmt(wa.get("pooled")),
                     fmt(f1.get("pooled"))])
    return ["", f"What predict is told about speakers changes the figure: {lone_clip_folds(info)}.", "",
            *md_table(["condition", "UA pooled", "UA fold mean ± std", "WA pooled", "macro-F1 pooled"], rows), "",
            lone_clip_sentence(features)]


def _human_lines(metrics: Mapping[str, Any]) -> list[str]:
    human = metrics.get("human_baseline") or {}
    if not human.get("available"):
        return [f"Not known for this corpus ({human.get('reason', 'no perception data')})."]
    lines = [f"Listeners who heard only the audio ({human.get('source', '')}), on the same {human['n_clips']} clips:", ""]
    rows = [["listeners", fmt(human["human"]["accuracy"]), fmt(human["human"]["balanced_accuracy"])],
            ["this model (CV)", fmt(human["model"]["accuracy"]), fmt(human["model"]["balanced_accuracy"])]]
    lines += md_table(["", "accuracy (WA)", "UA"], rows)
    per_class = human.get("per_class") or {}
    if per_class:
        lines += ["", "Recall per class, listeners vs this model: "
                  + ", ".join(f"{k} {fmt(v['human'], 2)} vs {fmt(v['model'], 2)}" for k, v in per_class.items()) + "."]
    return lines


def explanation_lines(importance: str | Path, nuisance: str | Path) -> list[str]:
    """The card's "Explanations (cross-validated)" section from a pair's importance.tsv and nuisance.tsv
    (rule explain; :func:`speech_emotion.explain.report.card_section`), ending with a blank line."""
    from ..explain.report import card_section

    return card_section(pd.read_csv(importance, sep="\t"), pd.read_csv(nuisance, sep="\t"))


def model_card(
    info: Mapping[str, Any],
    features: FeatureSpec,
    metrics: Mapping[str, Any],
    manifest: pd.DataFrame,
    corpus: Mapping[str, Any],
    augment: Mapping[str, Any] | None = None,
    files: Sequence[str] | None = None,
    bundled: Collection[str] = (),
    explanations: Sequence[str] | None = None,
) -> str:
    """MODEL_CARD.md text for a final model folder: YAML front matter (:func:`card_data`), then the card.

    ``info``: model.json; ``features``: features.json (every feature decision: layers, weights, per-speaker
    standardisation, copies); ``metrics``: the pair's CV metrics.json; ``manifest``: the accepted clips
    (path, label, speaker, duration_s); ``corpus``: ``{"kind", "source", "name", "speaker_regex"}`` of the
    dataset config; ``augment``: the fold-all record.json's copies record (``copies``: its ``copy_rows`` and the
    probe's scores; whether they trained is ``features.copies``); ``files``: the files
    in model.zip (:func:`archive_files`); ``bundled``: the encoders whose weights are bundled in the folder
    (:func:`speech_emotion.predict.portable.bundled_encoders`); ``explanations``: the Markdown lines of the pair's
    explanations on the CV test folds (:func:`explanation_lines`), placed after the CV results; none, no section.
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
        f"{fmt(ua.get('mean'))} ± {fmt(ua.get('std'))} over folds, {fmt(ua.get('pooled'))} pooled "
        f"(chance {fmt((metrics.get('chance') or {}).get('balanced_accuracy'))}).",
        "",
        "Generated by the speech-emotion workflow (rule `final_model`) from features.json, model.json, the CV "
        + ("metrics.json, the manifest and the CV explanations (importance.tsv, nuisance.tsv)" if explanations else
           "metrics.json and the manifest")
        + "; edit a copy, not this file (it is rewritten when the model is rebuilt).",
        "",
        "## Model",
        "",
        *_encoder_lines(info, features),
        *_classifier_lines(info, features, augment),
        *_audio_lines(info),
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
        *_metric_lines(info, features, metrics),
        "",
        "### Human baseline",
        "",
        *_human_lines(metrics),
        "",
        *(explanations or ()),
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
        limitation_line(*protocol_args(metrics)),
        f"- Exactly one of {len(labels)} labels per clip or segment: no 'other', mixed or uncertain class; "
        "read the probabilities.",
        "- Trained on short clips: label long recordings by segments (`--segment vad`), not as one clip.",
        "",
        "## How to use",
        "",
        *usage_lines(info, features, manifest, corpus, bundled),
        "",
        "## Licences",
        "",
        *licence_lines(info, corpus),
        "",
        "## Versions",
        "",
        *_version_lines(info),
        "",
        "## Citation",
        "",
        *citation_lines(info, corpus),
        "",
    ]
    return "\n".join(lines)

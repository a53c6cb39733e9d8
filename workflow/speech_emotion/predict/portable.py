"""Portable model folders: where an encoder's weights are found, and bundling them into the folder.

model.json records each encoder's identity (:mod:`speech_emotion.embed.identity`) beside the folder it was
loaded from. :func:`locate_encoder` looks for the weights, in this order:

1. the folder the caller names (``encoder_dir=``, CLI ``--encoder-dir``);
2. a copy bundled in the model folder, ``<model>/encoder/<encoder name>/`` (:func:`bundle_model`,
   ``speech-emotion bundle``);
3. the folder model.json records (``resources/models/<encoder>``): as given (absolute, or relative
   to the current folder), then relative to the workflow folder that made the model;
4. the local Hugging Face cache (``huggingface_hub.snapshot_download(repo, revision,
   local_files_only=True)``), for an encoder whose identity is a hub repository;
5. a download of that repository at that revision into the Hugging Face cache, unless the network
   is off (``HF_HUB_OFFLINE=1``) or the caller says no (``download=False``).

A folder whose ``source.json`` names another model or revision than the identity is skipped (its
embeddings would not be the ones the classifier learned). Random-weight encoders (``init_config``)
are on no hub: only the recorded folder or a bundled copy holds them.

The model card (MODEL_CARD.md) says where the weights are in one block, :func:`weights_lines`, between
two HTML comments; bundling rewrites that block (:func:`rewrite_card_weights`), so a card uploaded
with a bundled folder says the weights are in it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..embed.identity import SOURCE_FILE, describe, identity_of, opensmile_version

log = logging.getLogger("speech_emotion.predict.portable")

BUNDLE_DIR = "encoder"  # <model>/encoder/<encoder name>/: bundled weights
CARD_FILE = "MODEL_CARD.md"  # the model card beside model.json (rule final_model writes it)
WEIGHTS_BEGIN = "<!-- encoder weights: speech-emotion bundle rewrites this block -->"
WEIGHTS_END = "<!-- end of encoder weights -->"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
_SKIP = shutil.ignore_patterns(".cache", ".tmp-*", ".old-*", ".git*", "*.lock")


@dataclass(frozen=True)
class EncoderWeights:
    """Where one encoder's weights were found: ``path`` (None for openSMILE) and ``source``, one of
    ``encoder_dir``, ``bundled``, ``recorded``, ``hf-cache``, ``downloaded``, ``none``."""

    name: str
    path: str | None
    source: str
    identity: Mapping[str, Any] | None = None

    @property
    def where(self) -> str:
        """Where the weights came from, in words (``source``)."""
        return SOURCES[self.source]

    def describe(self) -> str:
        """One line for the user: which encoder, from where."""
        what = describe(self.identity)
        return f"encoder {self.name} ({what}): {self.where}" + (f", {self.path}" if self.path else "")


SOURCES = {
    "encoder_dir": "the folder given (--encoder-dir)",
    "bundled": "the copy bundled in the model folder",
    "recorded": "the folder the model records",
    "hf-cache": "the local Hugging Face cache",
    "downloaded": "a download from the Hugging Face Hub (now in the local cache)",
    "none": "no weights needed",
}
""":attr:`EncoderWeights.source` -> what it means."""


def _has_weights(folder: Path) -> bool:
    """A Hugging Face folder (config.json + weights) or a FunASR one (config.yaml + model.pt)."""
    if not folder.is_dir():
        return False
    config = (folder / "config.json").is_file() or (folder / "config.yaml").is_file()
    return config and any(p.suffix in WEIGHT_SUFFIXES for p in folder.iterdir())


def _matches(folder: Path, identity: Mapping[str, Any] | None) -> str | None:
    """None when ``folder``'s source.json agrees with the identity (or either says nothing), else
    what it holds instead."""
    path = folder / SOURCE_FILE
    if not identity or not path.is_file():
        return None
    try:
        source = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    for key in ("model", "revision"):
        if identity.get(key) and source.get(key) and str(identity[key]) != str(source[key]):
            return f"{source.get('model')}@{source.get('revision')}"
    return None


def offline() -> bool:
    """True when huggingface_hub must not use the network (``HF_HUB_OFFLINE``)."""
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _hub_patterns(repo_id: str, revision: str | None) -> list[str]:
    """The files to fetch, as :func:`speech_emotion.embed.encoders.download_model` chooses them:
    configs and one weights format (safetensors preferred), or a FunASR checkpoint."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, revision=revision, files_metadata=False)
    names = [s.rfilename for s in info.siblings or []]
    if "config.json" not in names and {"config.yaml", "model.pt"} <= set(names):
        return ["config.yaml", "model.pt", "*.json"]
    weights = "*.safetensors" if any(n.endswith(".safetensors") for n in names) else "*.bin"
    return ["*.json", "*.txt", "*.model", weights]


def _from_hub(identity: Mapping[str, Any], download: bool) -> tuple[Path | None, str]:
    """(folder, source) from the local Hugging Face cache, else (when allowed) a download into it;
    (None, why not) when neither has it."""
    from huggingface_hub import snapshot_download

    repo, revision = str(identity["model"]), identity.get("revision")
    try:
        folder = Path(snapshot_download(repo_id=repo, revision=revision, local_files_only=True))
        if _has_weights(folder):
            return folder, "hf-cache"
    except Exception:  # noqa: BLE001 - not in the cache (or an incomplete entry): try the hub next
        pass
    if not download:
        return None, f"{repo}@{revision or 'main'} is not in the local Hugging Face cache and downloads are off"
    if offline():
        return None, (f"{repo}@{revision or 'main'} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
                      "set (unset it to download the weights)")
    try:
        folder = Path(snapshot_download(repo_id=repo, revision=revision, allow_patterns=_hub_patterns(repo, revision)))
    except Exception as exc:  # noqa: BLE001 - no network, no such repo or revision: say so
        return None, f"downloading {repo}@{revision or 'main'} failed ({type(exc).__name__}: {exc})"
    return folder, "downloaded"


def locate_encoder(model_path: str | Path, record: Mapping[str, Any], encoder_dir: str | Path | None = None,
                   download: bool = True) -> EncoderWeights:
    """Find the weights of one encoder of a model folder (model.json's encoder record), in the order
    of the module docstring. Raises FileNotFoundError saying where it looked."""
    name = str(record["name"])
    kind = record["spec"]["kind"]
    identity = identity_of(record)
    if kind == "opensmile":
        recorded, installed = (identity or {}).get("opensmile"), opensmile_version()
        if recorded and installed and recorded != installed:
            log.warning("encoder %s: the model was trained with opensmile %s, this is opensmile %s: features may "
                        "differ slightly", name, recorded, installed)
        return EncoderWeights(name, None, "none", identity)
    if kind not in ("hf", "emotion2vec"):
        raise ValueError(f"encoder {name}: kind {kind!r} has no weights of its own (a fusion: locate its members)")
    if encoder_dir:
        other = _matches(Path(encoder_dir), identity)
        if other:
            log.warning("encoder %s: %s holds %s, the model was trained with %s", name, encoder_dir, other,
                        describe(identity))
        return EncoderWeights(name, str(encoder_dir), "encoder_dir", identity)
    looked: list[str] = []
    bundled = Path(model_path) / BUNDLE_DIR / name
    if _has_weights(bundled):
        return EncoderWeights(name, str(bundled), "bundled", identity)
    looked.append(f"{bundled} (bundled copy)")
    recorded = record.get("model_dir") or record["spec"].get("model")
    if recorded:
        candidates = [Path(recorded)]
        if not Path(recorded).is_absolute():
            parents = Path(model_path).resolve().parents
            if len(parents) > 3:  # <workdir>/results/models/<encoder>/<classifier>
                candidates.append(parents[3] / recorded)
        for candidate in candidates:
            if not _has_weights(candidate):
                looked.append(str(candidate))
                continue
            other = _matches(candidate, identity)
            if other:
                looked.append(f"{candidate} (holds {other}, not {describe(identity)})")
                continue
            return EncoderWeights(name, str(candidate), "recorded", identity)
    if identity and identity.get("hub"):
        folder, source = _from_hub(identity, download)
        if folder is not None:
            return EncoderWeights(name, str(folder), source, identity)
        looked.append(source)
    elif identity:
        looked.append(f"{describe(identity)} is on no hub (random or local weights): bundle them with "
                      "`speech-emotion bundle` where the model was made")
    raise FileNotFoundError(
        f"encoder weights for '{name}' not found; looked in: {'; '.join(looked)}. Pass encoder_dir "
        "(CLI: --encoder-dir)")


def encoder_records(info: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The encoder records of model.json: every member of a fusion, else the one encoder."""
    return list(info["encoder"].get("members") or [info["encoder"]])


def has_hugging_face_encoder(info: Mapping[str, Any]) -> bool:
    """Whether model.json's encoders include a Hugging Face one: loading the model with torch imports
    transformers (an exported folder, :func:`speech_emotion.predict.export.is_export`, never does)."""
    return any(record["spec"]["kind"] == "hf" for record in encoder_records(info))


def uses_transformers(model_path: str | Path) -> bool:
    """:func:`has_hugging_face_encoder` of a model folder's model.json; True when it cannot be read
    (the loader then says why)."""
    try:
        return has_hugging_face_encoder(json.loads((Path(model_path) / "model.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return True


def bundled_encoders(model_path: str | Path, info: Mapping[str, Any]) -> list[str]:
    """The encoders of a model folder whose weights are bundled in it (``<model>/encoder/<name>/``)."""
    return [str(r["name"]) for r in encoder_records(info) if _has_weights(Path(model_path) / BUNDLE_DIR / str(r["name"]))]


def weights_lines(info: Mapping[str, Any], bundled: Collection[str] = ()) -> list[str]:
    """The model card's block on where each encoder's weights are, between :data:`WEIGHTS_BEGIN` and
    :data:`WEIGHTS_END`: in the folder for the encoders named in ``bundled`` (:func:`bundle_model`), else
    where :func:`locate_encoder` looks."""
    lines = []
    for record in encoder_records(info):
        name, spec = str(record["name"]), record["spec"]
        if spec.get("kind") == "opensmile":
            lines.append(f"- `{name}` (openSMILE): no weights; the `opensmile` package computes the features.")
        elif name in bundled:
            lines.append(f"- `{name}`: bundled in this folder, `{BUNDLE_DIR}/{name}/`: predict finds them there by "
                         "itself, wherever the folder is, with no option.")
        else:
            identity = identity_of(record) or {}
            where = [f"from `{record['model_dir']}` in the workflow folder that made the model"
                     ] if record.get("model_dir") else []
            if identity.get("hub"):
                where.append(f"from the local Hugging Face cache or a download of `{identity['model']}` at revision "
                             f"`{identity.get('revision') or 'main'}`")
            hub = "" if identity.get("hub") else " (they are on no hub: random or local weights)"
            lines.append(f"- `{name}`: **not in this folder**: predict loads them {', else '.join(where)}{hub}; "
                         "`--encoder-dir DIR` names another place, and `speech-emotion bundle --model <this folder>` "
                         "run where the model was made copies them in.")
    return [WEIGHTS_BEGIN, *lines, WEIGHTS_END]


def rewrite_card_weights(model_path: str | Path, info: Mapping[str, Any], bundled: Collection[str]) -> bool:
    """Rewrite the weights block (:func:`weights_lines`) of the folder's MODEL_CARD.md, nothing else of it.
    False when there is no card, or (with a warning) when the card has no such block."""
    from ..io.files import write_text_atomic

    path = Path(model_path) / CARD_FILE
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(WEIGHTS_BEGIN), text.find(WEIGHTS_END)
    if start < 0 or end < start:
        log.warning("%s: no encoder-weights block to rewrite (a card made by an older version, or edited): its "
                    "statement on the weights is left as it is", path)
        return False
    new = text[:start] + "\n".join(weights_lines(info, bundled)) + text[end + len(WEIGHTS_END):]
    if new != text:
        write_text_atomic(path, new)
    return True


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bundle_model(model_path: str | Path, archive: str | Path | None = None, encoder_dir: str | Path | None = None,
                 download: bool = True) -> list[EncoderWeights]:
    """Copy the weights of every encoder of a model folder into ``<model>/encoder/<name>/`` (found as
    :func:`locate_encoder` finds them; already bundled ones stay), so that the folder alone predicts
    anywhere, and rewrite the card's statement of where the weights are (:func:`rewrite_card_weights`).
    ``archive``: also write the whole folder (model.zip, features.json, model.json, MODEL_CARD.md,
    encoder/) as one .zip whose top folder is the model folder's name.
    Returns where each encoder's weights came from."""
    from ..io.files import atomic_dir
    from ..train.final_model import load_final_model

    model_path = Path(model_path)
    final = load_final_model(model_path)  # all three files present and readable
    records = encoder_records(final.info)
    if encoder_dir is not None and sum(r["spec"]["kind"] in ("hf", "emotion2vec") for r in records) > 1:
        raise ValueError("encoder_dir names one encoder's weights; this model fuses several (see model.json)")
    found = []
    for record in records:
        weights = locate_encoder(model_path, record, encoder_dir, download)
        found.append(weights)
        if weights.source in ("none", "bundled"):
            continue
        target = model_path / BUNDLE_DIR / str(record["name"])
        with atomic_dir(target) as tmp:
            shutil.copytree(weights.path, tmp, symlinks=False, ignore=_SKIP, dirs_exist_ok=True)  # cache: links -> files
            identity = weights.identity or {}
            if not (tmp / SOURCE_FILE).is_file() and identity.get("model"):
                source = {"model": identity["model"], "revision": identity.get("revision")}
                (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
        log.info("encoder %s: bundled from %s (%.1f MB)", record["name"], weights.path, _folder_size(target) / 1e6)
    rewrite_card_weights(model_path, final.info, bundled_encoders(model_path, final.info))
    if archive is not None:
        write_archive(model_path, archive)
    return found


def write_archive(model_path: str | Path, archive: str | Path) -> Path:
    """The model folder as one .zip (top folder: the model folder's name); weights stored, other
    files deflated. Written to a temporary name first."""
    model_path, archive = Path(model_path), Path(archive)
    if archive.resolve().is_relative_to(model_path.resolve()):
        raise ValueError(f"{archive}: the archive must not be written inside the model folder")
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(f".tmp-{archive.name}")
    top = model_path.resolve().name
    with zipfile.ZipFile(tmp, "w") as out:
        for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
            relative = path.relative_to(model_path)
            if any(part.startswith((".tmp-", ".old-")) for part in relative.parts):
                continue
            kind = zipfile.ZIP_STORED if path.suffix in WEIGHT_SUFFIXES + (".zip",) else zipfile.ZIP_DEFLATED
            out.write(path, f"{top}/{relative.as_posix()}", compress_type=kind)
    os.replace(tmp, archive)
    return archive

"""What an encoder is, recorded in model.json beside the folder it was loaded from.

A model folder records its encoder as ``{"name", "spec", "model_dir", "identity"}``: ``model_dir``
says where the weights were on the machine that trained it, ``identity`` what they are, so that
``speech-emotion predict`` can find them anywhere (:mod:`speech_emotion.predict.portable`):

- a Hugging Face encoder fetched by the workflow (kinds hf and emotion2vec):
  ``{"model": "microsoft/wavlm-large", "revision": "<commit>", "hub": true}`` from the
  ``source.json`` that :func:`speech_emotion.embed.encoders.download_model` leaves in the folder;
- random weights built by the workflow (``init_config``): ``{"model": "random-init:tiny-wavlm",
  "revision": "seed-0", "hub": false}`` (not on the hub: only the folder itself or a bundled copy);
- a local folder without ``source.json``: its name, ``spec.revision`` or ``local``, ``hub`` false;
- openSMILE: ``{"feature_set": "eGeMAPSv02", "opensmile": "<version>"}`` (no weights).

The same fields as the embedding shards' ``model`` and ``revision`` (``workflow/scripts/embed.py``).
Written by the train jobs (``workflow/scripts/train.py``, ``cross_train.py``) when they write
model.json, from the folder the embed jobs used: the weights exist by then, which they may not when
Snakemake evaluates a rule's params.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SOURCE_FILE = "source.json"  # as speech_emotion.embed.encoders.SOURCE_FILE
RANDOM_INIT = "random-init:"


def opensmile_version() -> str | None:
    """The installed openSMILE Python package's version (without importing it), or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opensmile")
    except PackageNotFoundError:
        return None


def encoder_identity(spec: Mapping[str, Any], model_dir: str | Path | None) -> dict[str, Any] | None:
    """The identity of one encoder (module docstring); None for a fusion (its members have theirs)."""
    kind = spec.get("kind")
    if kind == "opensmile":
        return {"feature_set": spec["feature_set"], "opensmile": opensmile_version()}
    if kind not in ("hf", "emotion2vec"):
        return None
    source: dict[str, Any] = {}
    if model_dir is not None and (Path(model_dir) / SOURCE_FILE).is_file():
        source = json.loads((Path(model_dir) / SOURCE_FILE).read_text(encoding="utf-8"))
    name = str(spec.get("model", ""))
    if source.get("model"):
        model = str(source["model"])
        return {"model": model, "revision": source.get("revision"), "hub": not model.startswith(RANDOM_INIT)}
    if spec.get("init_config"):
        return {"model": f"{RANDOM_INIT}{Path(str(spec['init_config'])).parent.name}", "revision": None, "hub": False}
    local = Path(name).is_dir() or Path(name).is_absolute()
    return {"model": Path(name).name if local else name, "revision": spec.get("revision", "local" if local else None),
            "hub": not local and "/" in name}


def with_identity(record: Mapping[str, Any]) -> dict[str, Any]:
    """A model.json encoder record (``name``, ``spec``, ``model_dir``, ``members`` for a fusion) with
    ``identity`` added to it and to each member; the folders are read relative to the current
    working directory (a workflow job's)."""
    out = dict(record)
    out["identity"] = encoder_identity(record["spec"], record.get("model_dir"))
    if record.get("members"):
        out["members"] = [with_identity(member) for member in record["members"]]
    return out


def identity_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The identity a model.json encoder record carries; for folders made before identities were
    recorded, what its spec says (a hub repo id and revision, when ``spec.model`` looks like one)."""
    if record.get("identity") is not None:
        return dict(record["identity"])
    spec = record.get("spec", {})
    if spec.get("kind") in ("hf", "emotion2vec") and not spec.get("init_config"):
        name = str(spec.get("model", ""))
        hub = "/" in name and not Path(name).is_absolute() and not name.startswith((".", "/"))
        return {"model": name, "revision": spec.get("revision"), "hub": hub}
    return None


def describe(identity: Mapping[str, Any] | None) -> str:
    """One phrase: ``microsoft/wavlm-large@1234abc`` or ``openSMILE eGeMAPSv02 (opensmile 2.6.0)``."""
    if not identity:
        return "unknown"
    if "feature_set" in identity:
        return f"openSMILE {identity['feature_set']} (opensmile {identity.get('opensmile') or '?'})"
    revision = identity.get("revision")
    return f"{identity['model']}@{revision}" if revision else str(identity["model"])

"""A fold's plan as one object: its feature pipeline, the only home of every decision, and the
evidence of each decision beside it (``results/cv/{encoder}/plans/fold-{k}.json``).

:func:`speech_emotion.train.plan.make_plan` decides it; the train and tune jobs, the cross-corpus
runs, the final model's folder and the figures read their decisions from :attr:`Plan.features` and
the scores behind them from :attr:`Plan.evidence`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .features import FeatureSpec

DECISIONS = ("layers", "speaker_norm", "balance", "copies")
"""The decisions of a plan, in the order they are taken (the keys of :attr:`Plan.evidence`)."""


@dataclass(frozen=True)
class Plan:
    """One fold's plan: its feature pipeline (``features``: the members and their layers and weights,
    per-speaker standardisation, fusion balance, copies: every decision, and nowhere else) and the
    evidence of each decision (``evidence``: per :data:`DECISIONS` key, the mode and the probe's scores;
    ``"inner"``: how the one shared set of inner splits was grouped)."""

    fold: str
    features: FeatureSpec
    evidence: Mapping[str, Any]
    n_train_clips: int

    def to_json(self) -> dict[str, Any]:
        return {"fold": self.fold, "n_train_clips": self.n_train_clips, "features": self.features.to_json(),
                "evidence": dict(self.evidence)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        if "features" not in data or "evidence" not in data:
            raise ValueError("the plan has no feature pipeline and evidence ('features', 'evidence'): it was written "
                             "by an older version; rerun the workflow to rebuild it")
        return cls(fold=str(data["fold"]), features=FeatureSpec.from_json(data["features"]),
                   evidence=dict(data["evidence"]), n_train_clips=int(data.get("n_train_clips", 0)))

    @classmethod
    def read(cls, path: str | Path) -> Plan:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def layers(self) -> list[int] | dict[str, list[int]]:
        """The layers read: a list for one encoder, member encoder -> list for a fusion."""
        members = self.features.members
        if len(members) == 1:
            return list(members[0].layers)
        return {m.encoder: list(m.layers) for m in members}

    @property
    def layer_candidate(self) -> str:
        """Which layer candidate the pipeline holds: layer, window, weighted or all (or config, fusion)."""
        method = self.evidence["layers"].get("method")
        member = self.features.members[0]
        if method != "probe" or len(self.features.members) > 1:
            return str(method)
        if member.weights is not None:
            return "weighted"
        if len(member.layers) == 1:
            return "layer"
        return "all" if len(member.layers) == self.evidence["layers"]["n_layers"] and any(
            c["name"] == "all" for c in self.evidence["layers"]["candidates"]) else "window"

    @property
    def layer_choice(self) -> dict[str, Any]:
        """How the layers were chosen, never which (those are :attr:`features`'): the method (probe, config,
        fusion), the ``features.layers`` spec, the probe's score and the encoder's layer count; a fusion's
        the same per member under ``members``. The fold's record and model.json keep it for the card."""
        return _layer_choice(self.evidence["layers"])

    def decision(self, name: str) -> dict[str, Any]:
        """One decision as a record: what the pipeline holds (``use``, ``layers``) and its evidence."""
        spec = self.features
        used = {"layers": {"layers": self.layers}, "speaker_norm": {"use": spec.speaker_norm, "min_clips": spec.min_clips},
                "balance": {"use": spec.blocks is not None}, "copies": {"use": spec.copies}}[name]
        return used | dict(self.evidence.get(name) or {})

    def describe(self) -> str:
        """One line for the job's log."""
        return f"{self.features.describe()} (layer candidate {self.layer_candidate})"


def _layer_choice(evidence: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: evidence.get(k) for k in ("method", "spec", "score", "n_layers")}
    if evidence.get("members"):
        out["members"] = {name: _layer_choice(member) for name, member in evidence["members"].items()}
    return out


def probe_table(plans: Sequence[Plan]) -> pd.DataFrame:
    """layer_probe.tsv: fold, layer, score (balanced accuracy; empty unless probed), chosen (0/1),
    scored_by (what scored the layers: ``ridge screen`` when the plan screened them, features.probe_finalists,
    else the probe's name; empty unless probed)."""
    rows = []
    for plan in plans:
        choice = plan.evidence["layers"]
        scores = choice.get("layer_scores") or [None] * choice["n_layers"]
        scored_by = "ridge screen" if choice.get("screen") else choice.get("probe")
        for layer in range(choice["n_layers"]):
            rows.append({"fold": plan.fold, "layer": layer, "score": scores[layer],
                         "chosen": int(layer in plan.layers), "scored_by": scored_by if scores[layer] is not None else None})
    return pd.DataFrame(rows, columns=["fold", "layer", "score", "chosen", "scored_by"])

"""A PyTorch multi-layer perceptron with early stopping, trained on one CPU thread (reproducible)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import io

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

from ...devices import resolve_device, single_torch_thread
from .base import Classifier, Rows
from .inner import inner_split
from .modelfile import load_sklearn, sklearn_files


def _build_mlp(n_in: int, hidden: Sequence[int], n_out: int, dropout: float):
    import torch.nn as nn

    layers: list[nn.Module] = []
    width = n_in
    for units in hidden:
        layers += [nn.Linear(width, int(units)), nn.BatchNorm1d(int(units)), nn.ReLU(), nn.Dropout(dropout)]
        width = int(units)
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@dataclass(eq=False, repr=False, kw_only=True)
class MLPClassifier(Classifier):
    """Feed-forward net (Linear-BatchNorm-ReLU-Dropout blocks), class-weighted cross-entropy, AdamW.

    Early stopping (``patience`` epochs without a lower validation loss) watches a speaker-grouped
    split of the rows given to ``fit`` (the training fold); the weights of the best epoch are kept.
    ``epoch_callback(epoch, balanced_accuracy)`` sees each epoch's validation score (for pruning).

    ``refit=True`` (the final model of fold ``all``): after early stopping has found ``best_epoch_``
    (counted from 0), a fresh net (same seed, same settings, class weights over all rows) trains on
    every row given to ``fit`` (clean clips and copies, held-out rows included) for exactly
    ``best_epoch_ + 1`` epochs and is kept as it ends; ``refit_rows_`` is the number of those rows and
    ``history_`` stays the early-stopping run's. ``refit=False`` (default, the CV folds) keeps the best
    epoch's weights of the net trained on the other rows.
    """

    name = "mlp"

    hidden: Sequence[int] = (512, 256, 128)
    dropout: float = 0.3
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    max_epochs: int = 200
    patience: int = 15
    validation_fraction: float = 0.15
    device: str = "auto"
    refit: bool = False

    @classmethod
    def from_search(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """``n_layers`` and ``units`` (tune.spaces.mlp) -> ``hidden``: ``units`` in the first layer,
        halved per layer, at least 32."""
        params = dict(values)
        if "n_layers" in params or "units" in params:
            n_layers = int(params.pop("n_layers", 3))
            units = int(params.pop("units", 512))
            params["hidden"] = [max(units // 2**i, 32) for i in range(n_layers)]
        return params

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Rows = None, clean: Rows = None, clips: Rows = None,
            epoch_callback: Callable[[int, float], None] | None = None) -> "MLPClassifier":
        Xs, yi = self._prepare(X, y)
        (tr, va), = self._keep_inner("early_stopping", inner_split(
            yi, groups, self.validation_fraction, self.seed, clean, clips, purpose="mlp early stopping"))
        self.validation_rows_ = va
        self.refit_rows_ = None
        with single_torch_thread():
            self._train(Xs, yi, tr, va, epoch_callback)
            if self.refit:
                # every row, for the epochs early stopping found (best_epoch_ counts from 0)
                self._train(Xs, yi, np.arange(len(yi)), None, None, epochs=self.best_epoch_ + 1)
                self.refit_rows_ = len(yi)
        return self

    def _train(
        self, Xs: np.ndarray, yi: np.ndarray, tr: np.ndarray, va: np.ndarray | None,
        epoch_callback: Callable[[int, float], None] | None, epochs: int | None = None,
    ) -> None:
        """Train a fresh net on rows ``tr``. With validation rows ``va``: early stopping, the best
        epoch's weights kept (``best_epoch_``, ``history_``). Without (``va=None``): exactly ``epochs``
        epochs, the last weights kept. Sets ``net_``."""
        import torch

        device = resolve_device(self.device, "classifiers.mlp.device")
        torch.manual_seed(self.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        n_classes = len(self.classes_)
        net = _build_mlp(Xs.shape[1], self.hidden, n_classes, self.dropout).to(device)
        present = np.unique(yi[tr])
        class_weight = np.ones(n_classes, dtype=np.float32)
        class_weight[present] = compute_class_weight("balanced", classes=present, y=yi[tr])
        weight = torch.tensor(class_weight, device=device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        X_tr = torch.from_numpy(Xs[tr]).to(device)
        y_tr = torch.from_numpy(yi[tr].astype(np.int64)).to(device)
        gen = torch.Generator().manual_seed(self.seed)
        if va is None:
            for _ in range(int(epochs)):
                self._epoch(net, opt, loss_fn, X_tr, y_tr, gen, device)
            self.net_ = net.cpu().eval()
            return
        X_va = torch.from_numpy(Xs[va]).to(device)
        y_va = torch.from_numpy(yi[va].astype(np.int64)).to(device)
        best_loss, best_state, best_epoch, waited = np.inf, None, 0, 0
        self.history_: list[dict[str, float]] = []
        for epoch in range(int(self.max_epochs)):
            self._epoch(net, opt, loss_fn, X_tr, y_tr, gen, device)
            net.eval()
            with torch.no_grad():
                logits = net(X_va)
                val_loss = float(loss_fn(logits, y_va))
                val_score = balanced_accuracy_score(yi[va], logits.argmax(1).cpu().numpy())
            self.history_.append({"epoch": epoch, "val_loss": val_loss, "val_balanced_accuracy": float(val_score)})
            if epoch_callback is not None:
                epoch_callback(epoch, float(val_score))
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, waited = val_loss, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        net.load_state_dict(best_state)
        self.best_epoch_ = best_epoch
        self.net_ = net.cpu().eval()

    def _epoch(self, net, opt, loss_fn, X_tr, y_tr, gen, device) -> None:
        """One pass over the training rows in a shuffled order (``gen``), in mini-batches."""
        import torch

        net.train()
        order = torch.randperm(len(y_tr), generator=gen).to(device)
        for start in range(0, len(y_tr), int(self.batch_size)):
            idx = order[start : start + int(self.batch_size)]
            if len(idx) < 2:  # batch norm needs two rows
                continue
            opt.zero_grad()
            loss = loss_fn(net(X_tr[idx]), y_tr[idx])
            loss.backward()
            opt.step()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with single_torch_thread(), torch.no_grad():
            logits = self.net_(torch.from_numpy(self._scale(X)))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def _save_state(self):
        import torch

        buffer = io.BytesIO()
        torch.save(self.net_.state_dict(), buffer)
        state = {"best_epoch_": self.best_epoch_, "n_features_in_": int(self.n_features_in_)}
        if getattr(self, "refit_rows_", None) is not None:
            state["refit_rows_"] = int(self.refit_rows_)
        return state, {
            **sklearn_files("scaler", self.scaler_),
            "mlp.pt": buffer.getvalue(),
        }

    def _load_state(self, state, files):
        import torch

        self.scaler_ = load_sklearn(files, "scaler")
        self.best_epoch_ = state["best_epoch_"]
        self.refit_rows_ = state.get("refit_rows_")  # absent: no refit (or a file from before refit)
        self.n_features_in_ = state["n_features_in_"]
        net = _build_mlp(self.n_features_in_, self.hidden, len(self.classes_), self.dropout)
        net.load_state_dict(torch.load(io.BytesIO(files["mlp.pt"]), map_location="cpu", weights_only=True))
        self.net_ = net.eval()

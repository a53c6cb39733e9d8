"""A PyTorch multi-layer perceptron regressor with early stopping, on one CPU thread (reproducible)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...devices import resolve_device, single_torch_thread
from ..classifiers.mlp import MLPClassifier, _build_mlp
from .base import Regressor
from .inner import regression_inner_split


@dataclass(eq=False, repr=False, kw_only=True)
class MLPRegressor(Regressor):
    """The classifier MLP's network (:func:`speech_emotion.train.classifiers.mlp._build_mlp`:
    Linear-BatchNorm-ReLU-Dropout blocks) with one output, mean squared error on the standardised
    target, AdamW, and the classifier's seeded mini-batch epoch (``MLPClassifier._epoch``): the torch
    code is shared, not scikit-learn's MLPRegressor.

    Early stopping (``patience`` epochs without a lower validation loss) watches a speaker-grouped
    split of the rows given to ``fit`` (clip-grouped with too few speakers; validation rows clean
    clips only); the weights of the best epoch are kept (``best_epoch_``, ``history_``).
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

    _epoch = MLPClassifier._epoch  # one shuffled pass in mini-batches (uses batch_size only)
    # tuning: n_layers and units (tune.regressor_spaces.mlp) -> hidden, as for the classifier MLP
    from_search = classmethod(MLPClassifier.from_search.__func__)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, clean: np.ndarray | None = None,
            clips: np.ndarray | None = None) -> MLPRegressor:
        import torch

        Xs, ys = self._prepare(X, y)
        (tr, va), = self._keep_inner("early_stopping", regression_inner_split(
            len(ys), groups, self.validation_fraction, self.seed, clean, clips, purpose="mlp early stopping"))
        self.validation_rows_ = va
        with single_torch_thread():
            device = resolve_device(self.device, "regressors.mlp.device")
            torch.manual_seed(self.seed)
            torch.use_deterministic_algorithms(True, warn_only=True)
            net = _build_mlp(Xs.shape[1], self.hidden, 1, self.dropout).to(device)
            mse = torch.nn.MSELoss()

            def loss_fn(output, target):
                return mse(output.squeeze(1), target)

            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            X_tr, y_tr = (torch.from_numpy(a).to(device) for a in (Xs[tr], ys[tr].astype(np.float32)))
            X_va, y_va = (torch.from_numpy(a).to(device) for a in (Xs[va], ys[va].astype(np.float32)))
            gen = torch.Generator().manual_seed(self.seed)
            best_loss, best_state, best_epoch, waited = np.inf, None, 0, 0
            self.history_: list[dict[str, float]] = []
            for epoch in range(int(self.max_epochs)):
                self._epoch(net, opt, loss_fn, X_tr, y_tr, gen, device)
                net.eval()
                with torch.no_grad():
                    val_loss = float(loss_fn(net(X_va), y_va))
                self.history_.append({"epoch": epoch, "val_loss": val_loss})
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
        return self

    def _predict_standard(self, Xs: np.ndarray) -> np.ndarray:
        import torch

        with single_torch_thread(), torch.no_grad():
            return self.net_(torch.from_numpy(np.asarray(Xs, dtype=np.float32))).squeeze(1).numpy().astype(np.float64)

    def _model_files(self):
        import torch

        buffer = io.BytesIO()
        torch.save(self.net_.state_dict(), buffer)
        return {"best_epoch_": int(self.best_epoch_)}, {"mlp.pt": buffer.getvalue()}

    def _load_model_files(self, state, files):
        import torch

        self.best_epoch_ = state["best_epoch_"]
        net = _build_mlp(self.n_features_in_, self.hidden, 1, self.dropout)
        net.load_state_dict(torch.load(io.BytesIO(files["mlp.pt"]), map_location="cpu", weights_only=True))
        self.net_ = net.eval()

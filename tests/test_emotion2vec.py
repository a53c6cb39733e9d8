"""kind: emotion2vec: the port of FunASR's emotion2vec (speech_emotion.embed.emotion2vec) against FunASR itself on
the same random weights, its pooled layers with padding, weight loading, and a demo-sized workflow run (the session's extended run)."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import yaml

from conftest import REPO
from speech_emotion.embed import embeddings as E
from speech_emotion.embed import emotion2vec as E2V

TINY = REPO / "resources" / "tiny-emotion2vec" / "config.yaml"
RATE = 16000
PARITY_TOL = 1e-5  # abs and rel, float32 on CPU: the port runs FunASR's operations in FunASR's order


def _signal(seconds: float, seed: int) -> np.ndarray:
    """Speech-like test signal: harmonics with vibrato and a loudness contour, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(110 + 30 * seed % 60 + 12 * np.sin(2 * np.pi * 3 * t)) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    return (0.3 * wave + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny-emotion2vec"
    E2V.init_model(TINY, out, seed=0)
    return out


# --- parity with FunASR ----------------------------------------------------------------------------


def _funasr_emotion2vec():
    """FunASR's own Emotion2vec class; the test is skipped when funasr is not installed (it pulls
    modelscope, oss2, jieba and more, so it is no test dependency: `pip install funasr` to run it)."""
    module = pytest.importorskip(
        "funasr.models.emotion2vec.model",
        reason="funasr is not installed (pip install funasr; or --no-deps funasr omegaconf kaldiio): "
        "the parity test with FunASR's emotion2vec is skipped",
    )
    return module.Emotion2vec


@pytest.mark.parametrize("layer_norm_first", [False, True])
def test_every_layer_equals_funasr_on_the_same_random_weights(tmp_path, layer_norm_first):
    import torch

    Emotion2vec = _funasr_emotion2vec()
    config = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    config["model_conf"]["layer_norm_first"] = layer_norm_first
    torch.manual_seed(7)
    theirs = Emotion2vec(model_conf=config["model_conf"]).eval()
    with torch.no_grad():  # move every parameter off its initial value (norms, extra tokens, ALiBi scales too)
        for param in theirs.parameters():
            param.add_(0.1 * torch.randn_like(param))
    assert any(k.startswith("modality_encoders.AUDIO.decoder.") for k in theirs.state_dict()), "a decoder to skip"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    torch.save(theirs.state_dict(), folder / "model.pt")
    ours = E2V.Emotion2vecEncoder(folder, "cpu")

    enc = theirs.modality_encoders["AUDIO"]
    blocks = list(enc.context_encoder.blocks) + list(theirs.blocks)
    seen: list = []
    hooks = [blocks[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))]
    hooks += [b.register_forward_hook(lambda module, args, out: seen.append(out[0])) for b in blocks]
    signal = _signal(1.3, 1)
    with torch.inference_mode():
        source = torch.from_numpy(signal)
        source = torch.nn.functional.layer_norm(source, source.shape).view(1, -1)  # Emotion2vec.inference
        out = theirs.extract_features(source, padding_mask=None)
        batch, lengths = ours.waveforms([signal])
        mine, valid = ours.model.hidden_states(batch, lengths)
    for hook in hooks:
        hook.remove()
    num = enc.modality_cfg.num_extra_tokens
    expected = [h[:, num:] for h in seen]
    expected[-1] = out["x"]  # the model's output (after its final norm when layer_norm_first)
    assert len(mine) == len(expected) == ours.n_layers == 1 + 1 + 2
    assert bool(valid.all()) and mine[0].shape == out["x"].shape
    worst = max(float((a - b).abs().max()) for a, b in zip(mine, expected))
    for layer, (a, b) in enumerate(zip(mine, expected)):
        torch.testing.assert_close(a, b, rtol=PARITY_TOL, atol=PARITY_TOL, msg=lambda m: f"layer {layer}: {m}")
    print(f"layer_norm_first={layer_norm_first}: largest difference to FunASR {worst:.2e}")

    # FunASR batched (padding_mask) lets the padding reach the last valid frames through its
    # convolutional positions; the port zeroes them, so a clip batched equals FunASR's clip alone
    short, long = _signal(0.7, 2), _signal(1.3, 3)
    with torch.inference_mode():
        norm = [torch.nn.functional.layer_norm(torch.from_numpy(s), (len(s),)) for s in (short, long)]
        alone = theirs.extract_features(norm[0].view(1, -1), padding_mask=None)["x"][0]
        padded = torch.zeros(2, len(long))
        padded[0, : len(short)], padded[1] = norm
        pad_mask = torch.arange(len(long)).unsqueeze(0) >= torch.tensor([[len(short)], [len(long)]])
        funasr_batched = theirs.extract_features(padded, padding_mask=pad_mask)["x"][0, : alone.shape[0]]
        batch, lengths = ours.waveforms([short, long])
        port_batched = ours.model.hidden_states(batch, lengths)[0][-1][0, : alone.shape[0]]
    assert float((funasr_batched - alone).abs().max()) > 1e-3
    torch.testing.assert_close(port_batched, alone, rtol=PARITY_TOL, atol=PARITY_TOL)


# --- the encoder the workflow uses -------------------------------------------------------------------


def test_pooled_layers_ignore_padding(tiny):
    encoder = E.make_encoder({"kind": "emotion2vec", "model": "tiny"}, tiny, "cpu", RATE)
    assert isinstance(encoder, E2V.Emotion2vecEncoder) and encoder.pad_safe and encoder.compute_dtype == "float32"
    signals = [_signal(0.9, 4), _signal(2.6, 5)]
    together = E.embed_signals(encoder, signals, batch_seconds=100)
    assert together.shape == (2, 1 + 1 + 2, 2 * 32)  # layer 0 + 1 prenet block + 2 blocks, mean ++ std
    assert (together[:, :, 32:] >= 0).all() and not np.allclose(together[:, 0], together[:, -1])
    alone = np.stack([E.embed_signals(encoder, [s], batch_seconds=100)[0] for s in signals])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)
    stats = encoder.stats(signals)
    import torch

    frames = encoder.model.modality_encoders["AUDIO"].frame_lengths(torch.tensor([len(s) for s in signals]))
    assert [s.count for s in stats] == frames.tolist() and stats[0].count < stats[1].count
    # loudness does not matter: every signal is normalised over its own samples first (FunASR's inference)
    np.testing.assert_allclose(E.embed_signals(encoder, [3 * signals[0]], 100)[0], alone[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="16000 Hz"):
        E2V.Emotion2vecEncoder(tiny, "cpu", sample_rate=8000)


def test_random_init_is_seeded_and_loads_tensors_only(tiny, tmp_path):
    import torch

    assert {p.name for p in tiny.iterdir()} == {"config.yaml", "model.pt", "source.json"}
    assert json.loads((tiny / "source.json").read_text()) == {"model": "random-init:tiny-emotion2vec", "revision": "seed-0"}
    E2V.init_model(TINY, tmp_path / "again", seed=0)
    E2V.init_model(TINY, tmp_path / "other", seed=1)
    a, b, c = (torch.load(p / "model.pt", weights_only=True) for p in (tiny, tmp_path / "again", tmp_path / "other"))
    assert all(torch.equal(a[k], b[k]) for k in a) and not all(torch.equal(a[k], c[k]) for k in a)

    model = E2V.Emotion2vecModel(E2V.read_config(tiny))
    nested = tmp_path / "nested.pt"
    torch.save({"model": {f"module.{k}": v for k, v in a.items()}, "epoch": 3}, nested)  # FunASR's nestings
    E2V.load_weights(model, nested)
    assert all(torch.equal(model.state_dict()[k], a[k]) for k in a)
    partial = tmp_path / "partial.pt"
    torch.save({k: v for k, v in a.items() if not k.startswith("blocks.1.")}, partial)
    with pytest.raises(ValueError, match="missing"):
        E2V.load_weights(model, partial)
    code = tmp_path / "code.pt"
    torch.save({"weights": a, "hook": shutil.copyfile}, code)  # a pickled callable is never run
    with pytest.raises(pickle.UnpicklingError):
        E2V.load_weights(model, code)


def test_download_fetches_funasr_files(monkeypatch, tmp_path):
    import huggingface_hub

    from speech_emotion.embed import encoders as M

    class Info:
        sha = "a" * 40
        siblings = [type("S", (), {"rfilename": n})() for n in ("config.yaml", "model.pt", "configuration.json", "README.md")]

    fetched = {}
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: Info())
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kw: fetched.update(kw))
    assert M.download_model("emotion2vec/emotion2vec_base", None, tmp_path / "m") == "a" * 40
    assert fetched["allow_patterns"] == ["config.yaml", "model.pt", "*.json"]
    assert json.loads((tmp_path / "m" / "source.json").read_text())["model"] == "emotion2vec/emotion2vec_base"


# --- a demo-sized run -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_sized_run_with_a_tiny_emotion2vec(extended_run):
    """The session's extended run (conftest.extended_config) holds a tiny emotion2vec encoder beside the demo's."""
    workdir = extended_run
    source = json.loads((workdir / "resources/models/tiny-emotion2vec/source.json").read_text())
    assert source == {"model": "random-init:tiny-emotion2vec", "revision": "seed-0"}
    shard = E.load_shard(workdir / "results/embeddings/tiny-emotion2vec/clean/shard-0.npz")
    assert shard.embeddings.shape[1:] == (4, 64) and shard.metadata["model"] == "random-init:tiny-emotion2vec"
    metrics = json.loads((workdir / "results/cv/tiny-emotion2vec/logreg/metrics.json").read_text())
    assert metrics["encoder"] == "tiny-emotion2vec" and metrics["n_clips"] == 240
    assert (workdir / "results/plots/tiny-emotion2vec/layer_probe.png").is_file(), "a multi-layer encoder gets the probe"
    card = (workdir / "results/models/tiny-emotion2vec/logreg/MODEL_CARD.md").read_text()
    assert "emotion2vec (FunASR) architecture from `resources/tiny-emotion2vec/config.yaml`" in card

    from speech_emotion import load_model

    model = load_model(workdir / "results/models/tiny-emotion2vec/logreg", device="cpu")
    clip = sorted((workdir / "results/demo/AudioWAV").glob("*.wav"))[0]
    table = model.predict([clip], speakers=[clip.name.split("_")[0]] if model.needs_speakers else None)
    assert table["error"].isna().all() and table["label"].iloc[0] in model.labels

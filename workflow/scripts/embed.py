"""Rule embed: one shard of one audio variant -> results/embeddings/{encoder}/{variant}/shard-{i}.npz."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

from pathlib import Path

from speech_emotion.data.audio import load_audio, resample
from speech_emotion.io.audio_store import read_audio_shard
from speech_emotion.embed.embeddings import batch_seconds_for, embed_signals, make_encoder, stored_dtype, write_shard
from speech_emotion.io.tables import read_table
from speech_emotion.embed.encoders import read_source
from speech_emotion.io.logs import job_log

log = job_log(snakemake.log[0])
spec = snakemake.params.encoder
rate = snakemake.params.sample_rate
# Speed-only settings come straight from the config (not params) so changing them never reruns
# finished shards: embed.device (auto|cpu|cuda), embed.batch_seconds / embed.cpu_batch_seconds.
device = snakemake.config["embed"]["device"]

audio_input = snakemake.input.audio
if snakemake.wildcards.variant == "clean":
    table = read_table(audio_input)
    table = table[table["reason"] == ""].sort_values("clip_id")
    clip_ids = table["clip_id"].tolist()
    signals = [load_audio(path, rate) for path in table["path"]]
else:
    ids, audio, shard_rate = read_audio_shard(audio_input)
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    clip_ids = [ids[i] for i in order]
    signals = [resample(audio[i], shard_rate, rate) for i in order]
log.info(
    "encoder %s (%s), variant %s, shard %s: %d clips, %.1f s of audio",
    snakemake.wildcards.encoder, spec, snakemake.wildcards.variant, snakemake.wildcards.shard,
    len(clip_ids), sum(len(s) for s in signals) / rate,
)  # fmt: skip

model_dir = snakemake.input.model[0] if snakemake.input.model else None
encoder = make_encoder(spec, model_dir, device, rate)
embed_cfg = snakemake.config["embed"]
batch_seconds = batch_seconds_for(encoder.device, embed_cfg["batch_seconds"], embed_cfg["cpu_batch_seconds"])
log.info("device %s (%s), batch_seconds %s, max_seconds %s", encoder.device, encoder.compute_dtype, batch_seconds,
         snakemake.params.max_seconds)  # fmt: skip
# embed.threads batches run side by side, each on one torch thread: the numbers do not depend on it
embeddings = embed_signals(encoder, signals, batch_seconds, snakemake.params.max_seconds, workers=snakemake.threads)

if spec["kind"] == "opensmile":
    import opensmile

    model, revision = spec["feature_set"], f"opensmile-{opensmile.__version__}"
else:
    source = read_source(model_dir)
    name = spec["model"]
    model = source.get("model", Path(name).name if Path(name).is_absolute() else name)
    revision = source.get("revision", spec.get("revision", "local"))
write_shard(snakemake.output[0], clip_ids, embeddings, snakemake.wildcards.encoder, model, revision, stored_dtype(spec["kind"]),
            device=encoder.device, compute_dtype=encoder.compute_dtype)
log.info("wrote %s: %s", snakemake.output[0], embeddings.shape)

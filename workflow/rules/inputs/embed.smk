# Input functions and constants of embed.smk (functions live apart from rules: snakemake --lint).
import re  # noqa: E402

MODELS_DIR = "resources/models"


def _model_source(encoder):
    """How resources/models/{encoder} is made: none (opensmile), local, init or download."""
    spec = config["encoders"][encoder]
    if spec["kind"] not in ("hf", "emotion2vec"):
        return "none"
    if spec.get("init_config"):
        return "init"
    return "local" if Path(spec["model"]).is_dir() else "download"


def _encoder_regex(source):
    """Wildcard constraint matching exactly the encoders whose model folder `source` makes."""
    names = [re.escape(n) for n in config["encoders"] if _model_source(n) == source]
    return "|".join(names) if names else "(?!)"


def model_dir(encoder):
    """Local Hugging Face folder of an encoder (None for opensmile)."""
    source = _model_source(encoder)
    if source == "none":
        return None
    if source == "local":
        return config["encoders"][encoder]["model"]
    return f"{MODELS_DIR}/{encoder}"


def init_config_file(wildcards):
    """encoders.<name>.init_config: relative to the working directory, else shipped with the workflow."""
    path = config["encoders"][wildcards.encoder]["init_config"]
    return path if Path(path).exists() or Path(path).is_absolute() else str(REPO_DIR / path)


def init_config_texts(wildcards):
    """The model and preprocessor configs as text: a params value, so the model is rebuilt when
    their content changes but not when the checkout moves (an input path would be absolute)."""
    folder = Path(init_config_file(wildcards)).parent
    kind = config["encoders"][wildcards.encoder]["kind"]
    names = ("config.yaml",) if kind == "emotion2vec" else ("config.json", "preprocessor_config.json")
    return {name: (folder / name).read_text(encoding="utf-8") for name in names}


def embed_audio(wildcards):
    """clean: check_clips' shard table (accepted rows); augN: the augmented audio shard (primary corpus only)."""
    if wildcards.variant == "clean":
        return SHARD_TABLE.format(corpus_dir=wildcards.corpus_dir, shard=wildcards.shard)
    if wildcards.corpus_dir:
        raise WorkflowError(f"results/{wildcards.corpus_dir}embeddings: an extra corpus has clean embeddings only")
    return AUDIO.format(variant=wildcards.variant, shard=wildcards.shard)


def embed_model(wildcards):
    folder = model_dir(wildcards.encoder)
    return [folder] if folder else []


def result_spec(encoder):
    """encoders.<name> without `gpu`, plus embed.quantize / embed.max_layer when set (hf encoders):
    what decides an encoder's embeddings."""
    from speech_emotion.embed.embeddings import embed_speedups

    spec = {k: v for k, v in config["encoders"][encoder].items() if k != "gpu"}
    return {**spec, **embed_speedups(config["embed"])} if spec["kind"] == "hf" else spec


def embed_spec(wildcards):
    """The result-relevant part of encoders.<name> (a params value: changing it reruns the shards)."""
    return result_spec(wildcards.encoder)


def embed_gpu(wildcards):
    """GPUs per embed job: encoders.<name>.gpu, default 1 for hf and 0 for opensmile."""
    spec = config["encoders"][wildcards.encoder]
    return int(spec.get("gpu", 1 if spec["kind"] in ("hf", "emotion2vec") else 0))

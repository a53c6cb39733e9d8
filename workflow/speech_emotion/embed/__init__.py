"""Stage embed (rules/embed.smk): encoders (Hugging Face, openSMILE, emotion2vec), per-shard embeddings and the encoder identity a model records."""

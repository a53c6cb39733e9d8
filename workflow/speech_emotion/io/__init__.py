"""Small file helpers every stage uses: atomic writes and the corrupt-archive check, tables, job logs, audio shards, library versions."""

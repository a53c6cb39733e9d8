"""Stable shard membership: a clip's shard depends only on its id and the shard count."""

from __future__ import annotations

import hashlib


def shard_of(clip_id: str, shards: int) -> int:
    """Shard index in ``[0, shards)`` from a hash of the clip id (independent of other clips)."""
    if shards < 1:
        raise ValueError(f"embed.shards must be >= 1, got {shards}")
    digest = hashlib.sha1(clip_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards

"""Deterministic randomness: every draw is a pure function of the seed and a key.

No process-wide random state: two workers, or two runs, asking the same question of the same
seed get the same answer, whatever happened in between.
"""

from __future__ import annotations

import hashlib
import random

# Copied for each digest, never updated: hashlib's OpenSSL constructor looks the algorithm up on
# every call (a fifth of a digest's time; a run draws ten).
_SHA256 = hashlib.sha256()


def _digest(seed: int, parts: tuple) -> bytes:
    text = ":".join([str(seed), *map(str, parts)])
    hasher = _SHA256.copy()
    hasher.update(text.encode())
    return hasher.digest()


# What random.Random(n) ends in for an int n: the C seeding, after Python-level steps that cost
# about a third as much again (a run or a workflow draws one source per task).
_new = random.Random.__new__
_seed = random.Random.__mro__[1].seed  # _random.Random.seed


def rng(seed: int, *parts) -> random.Random:
    """A random source for one decision, e.g. rng(seed, "job", 42): random.Random(n) for a
    number n drawn from the seed and the key, built without the Python-level steps."""
    source = _new(random.Random)
    _seed(source, int.from_bytes(_digest(seed, parts)[:8], "big"))
    source.gauss_next = None  # as Random.seed leaves it
    return source


def uuid_for(seed: int, *parts) -> str:
    """A version-4-shaped UUID that is the same for the same seed and key: the text of
    `uuid.UUID(bytes=digest[:16], version=4)`, written without building the object (a run or a
    workflow draws one per task)."""
    raw = bytearray(_digest(seed, parts)[:16])
    raw[6] = raw[6] & 0x0F | 0x40  # the version, 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

"""Deterministic train/val/test assignment by a hash of each item's key.

The split of an item depends only on its key (file stem, COCO image id, DAVIS clip name) and the
seed, never on which other items exist or their order: adding files never moves existing ones
between splits, and training, benchmarks and CI agree on what is held out.
"""

import hashlib

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.2, 0.1)


def split_of(key, fractions=DEFAULT_FRACTIONS, seed=0):
    """Return "train", "val" or "test" for `key` with the given (train, val, test) fractions."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got "
                         f"{fractions}")
    digest = hashlib.sha1(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2 ** 64
    if u < fractions[0]:
        return "train"
    if u < fractions[0] + fractions[1]:
        return "val"
    return "test"

"""One-hot encoding of DNA and k-mer count features.

Conventions: the alphabet is ``ACGT``; one-hot arrays have shape ``(N, L, 4)`` and
dtype float32; N (unknown base) encodes as all zeros. Integer codes are uint8 with
A=0, C=1, G=2, T=3 and 4 for N.
"""
from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"
_LOOKUP = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def seqs_to_codes(seqs: list[str]) -> np.ndarray:
    """Equal-length strings -> uint8 codes of shape (N, L)."""
    if len(seqs) == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(seqs[0])
    raw = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
    return _LOOKUP[raw].reshape(len(seqs), length)


def codes_to_seqs(codes: np.ndarray) -> list[str]:
    """uint8 codes (N, L) -> strings."""
    letters = _LETTERS[codes]
    return [row.tobytes().decode("ascii") for row in letters]


def codes_to_onehot(codes: np.ndarray) -> np.ndarray:
    """uint8 codes (N, L) -> float32 one-hot (N, L, 4); code 4 (N) -> zeros."""
    eye = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
    return eye[codes]


def one_hot(seqs: list[str]) -> np.ndarray:
    """Strings -> float32 one-hot (N, L, 4)."""
    return codes_to_onehot(seqs_to_codes(seqs))


def onehot_to_codes(onehot: np.ndarray) -> np.ndarray:
    """float one-hot (N, L, 4) -> uint8 codes (N, L); all-zero rows -> 4 (N)."""
    onehot = np.asarray(onehot)
    if onehot.shape[-1] != 4:
        codes = onehot.argmax(axis=-1).astype(np.uint8)
        codes[onehot.max(axis=-1) <= 0] = 4
        return codes
    # argmax over four columns as three comparisons (first maximum on ties, as argmax), and the
    # row maximum from the same pairs: numpy's max over a last axis of 4 is several times slower
    a, c, g, t = np.ascontiguousarray(np.moveaxis(onehot, -1, 0))     # each column contiguous
    low = np.where(c > a, np.uint8(1), np.uint8(0))
    high = np.where(t > g, np.uint8(3), np.uint8(2))
    low_max, high_max = np.maximum(a, c), np.maximum(g, t)
    codes = np.where(high_max > low_max, high, low)
    codes[np.maximum(low_max, high_max) <= 0] = 4
    return codes


def onehot_to_seqs(onehot: np.ndarray) -> list[str]:
    return codes_to_seqs(onehot_to_codes(onehot))


def kmer_counts(codes_or_onehot: np.ndarray, k: int) -> np.ndarray:
    """Count every k-mer in each sequence -> float32 (N, 4**k).

    Accepts uint8 codes (N, L) or one-hot (N, L, 4). Windows touching an N are skipped.
    Counts ignore where a k-mer sits, so a model on them cannot see order or spacing.
    """
    index, valid = kmer_index(codes_or_onehot, k)
    n = len(index)
    if index.shape[1] == 0:
        return np.zeros((n, 4 ** k), dtype=np.float32)
    offsets = (np.arange(n, dtype=np.int64) * 4 ** k)[:, None]
    flat = (index.astype(np.int64) + offsets)[valid]
    counts = np.bincount(flat, minlength=n * 4 ** k).reshape(n, 4 ** k)
    return counts.astype(np.float32)


def kmer_index(codes_or_onehot: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-mer starting at each position of each sequence, as its column of :func:`kmer_counts`
    (int64 (N, L - k + 1)), and whether that window is free of N (bool, same shape)."""
    codes = codes_or_onehot
    if codes.ndim == 3:
        codes = onehot_to_codes(codes)
    n, length = codes.shape
    width = max(0, length - k + 1)
    dtype = np.int32 if 4 ** k < 2 ** 31 else np.int64
    index = np.zeros((n, width), dtype=dtype)
    valid = np.ones((n, width), dtype=bool)
    for j in range(k if width else 0):
        window = codes[:, j:j + width]
        index *= 4
        index += np.minimum(window, 3)
        valid &= window < 4
    return index, valid

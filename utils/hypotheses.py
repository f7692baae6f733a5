"""What a perturbation experiment tests, as a value: its kind, the motifs it perturbs, the class.

Experiments (:mod:`utils.perturb`) produce them, the planted rule (:mod:`utils.planted`) says
what it expects of each, and the verdict (:mod:`utils.evaluate`) matches them on their fields,
never on the text of their names. ``name`` is only how a hypothesis is written in
``interpretation.csv`` (``ablate:GATA_known1``, ``swap:positives``, ...).
"""
from __future__ import annotations

from dataclasses import dataclass

ABLATE, INSERT, SWAP, DISTANCE, CONTROL = "ablate", "insert", "swap", "distance", "control"
FLIP = "flip"
COPIES = "copies"
MOVE = "move"            # move the one instance of a motif into (negatives) or out of (positives) a region
KINDS = (ABLATE, INSERT, SWAP, DISTANCE, CONTROL, FLIP, COPIES, MOVE)
MOVE_NAMES = {1: "out_of_region:positives", 0: "into_region:negatives"}
CLASS_NAMES = {1: "positives", 0: "negatives", None: "test sequences"}
FLIP_SITES = ("upstream", "downstream")
# a flip's negatives under an orientation rule: those one flip turns into the planted orientation
# (becomes 1) and those it leaves in another (becomes 0)
BECOMES_NAMES = {1: "negatives_made_positive", 0: "negatives_kept_negative"}
# a copies test: remove one copy of A from the positives at the threshold (label 1), add one to the
# negatives just below it (label 0)
COPY_CHANGES = {1: "remove_one:positives_at_threshold", 0: "add_one:negatives_below_threshold"}


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis test of interpretation.csv.

    ``kind``: one of :data:`KINDS`; ``motifs``: the motif (or the ordered pair) it perturbs;
    ``label``: the class whose sequences are perturbed (1, 0) or None for both; ``width``: bp
    of the background stretch a control resamples; ``site``: which site of the pair a flip
    reverse-complements (upstream, downstream); ``becomes``: a flip of negatives under an
    orientation rule tests only those the flip turns into the planted orientation (1) or only
    those it leaves outside it (0); None: every sequence of the class.
    """
    kind: str
    motifs: tuple[str, ...]
    label: int | None = None
    width: int | None = None
    site: str | None = None
    becomes: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown hypothesis kind {self.kind!r}")
        object.__setattr__(self, "motifs", tuple(self.motifs))

    @property
    def name(self) -> str:
        """The ``test`` column of interpretation.csv."""
        if self.kind in (ABLATE, INSERT):
            return f"{self.kind}:{self.motifs[0]}"
        if self.kind == SWAP:
            return f"swap:{CLASS_NAMES[self.label]}"
        if self.kind == DISTANCE:
            return "distance:inside_vs_outside"
        if self.kind == FLIP:
            group = BECOMES_NAMES[self.becomes] if self.label == 0 and self.becomes is not None \
                else CLASS_NAMES[self.label]
            return f"flip:{self.site}:{group}"
        if self.kind == COPIES:
            return f"copies:{COPY_CHANGES[self.label]}"
        if self.kind == MOVE:
            return f"move:{self.motifs[0]}:{MOVE_NAMES[self.label]}"
        return f"control:background_{self.width}bp"

    @property
    def motif_text(self) -> str:
        """The ``motifs`` column: one name, or the pair as ``A,B``."""
        return ",".join(self.motifs)

    @property
    def sequences(self) -> str:
        """Which sequences the experiment perturbs, in words (for "not run" reasons)."""
        if self.kind == FLIP and self.label == 0 and self.becomes is not None:
            return (f"negatives whose {self.site} flip makes the planted orientation" if self.becomes
                    else f"negatives whose {self.site} flip leaves them outside the planted orientation")
        if self.kind == COPIES:
            return ("positives carrying exactly the threshold number of copies" if self.label == 1
                    else "negatives carrying one copy fewer than the threshold")
        if self.kind == MOVE:
            return {1: "positives (A moved out of the region)", 0: "negatives (A moved into the region)"}[self.label]
        return CLASS_NAMES[self.label]

"""Training-set augmentation: reverse complements and small shifts, drawn afresh every epoch.

The augmentations this field trains with (Basenji, BPNet, Koo & Ploenzke's and Kelley's
models): a DNA molecule's label does not depend on the strand it is read from, so a
sequence and its reverse complement carry the same label; and a rule that reads motifs and
their arrangement, not their distance from the ends, survives moving the whole sequence a
few bp. Each epoch, every training sequence is reverse-complemented with probability 1/2
(``rc``) and moved by a shift drawn uniformly from [-shift, +shift] bp (``shift``; the bases
moved in at an end are 0.25 each, as Basenji pads). Validation, test and every prediction see
the sequences as they are.

A planted rule says which augmentation would mislabel its data
(:meth:`utils.planted.PlantedRule.augmentation_conflict`): a position rule's region is read from
the 5' end, so neither applies; an order rule on data planted on both strands reads A before B
on either strand, so the reverse complement of a positive looks like a negative. Asked for by
name (``--augment_rc true``, ``--augment_shift 5``) such an augmentation is refused before
training; by default (``auto``, :func:`resolve`) both apply wherever the labels survive them and
each one that would mislabel the data steps aside, saying why.

Draws come from numpy generators seeded with (seed, epoch): the same seed and flags give the
same batches, weights and predictions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils.io import InputError

REVERSE_COMPLEMENT, SHIFT = "reverse_complement", "shift"
PAD = 0.25                       # the value of every base moved in at an end by a shift
MAX_SHIFT_SHARE = 0.1            # a shift may move at most this share of the sequence length
ONE_STRAND = ("the motifs were planted on + only, so every sequence reads them on +, and reverse complements "
              "would have the model learn the - strand as well (on spacing rules that kept it at chance; "
              "--augment_rc true trains with them)")
AUTO_SHIFT = 3                   # bp: the default shift (auto), or a tenth of the length if that is less


@dataclass(frozen=True)
class Augment:
    rc: bool = False             # reverse-complement each training sequence with probability 1/2
    shift: int = 0               # bp: move each training sequence by a uniform draw from [-shift, shift]

    @property
    def active(self) -> bool:
        return self.rc or self.shift > 0

    def names(self) -> list[str]:
        return ([REVERSE_COMPLEMENT] if self.rc else []) + ([SHIFT] if self.shift > 0 else [])


def check(augment: Augment, dataset) -> None:
    """Refuse an augmentation the data's labels would not survive, or a shift too large for its length."""
    if not augment.active:
        return
    limit = int(MAX_SHIFT_SHARE * dataset.seq_length)
    if augment.shift > limit:
        raise InputError(f"--augment_shift {augment.shift} bp is more than a tenth of the {dataset.seq_length} bp "
                         f"sequences; use at most {limit} (small shifts: 3-10 bp is usual)")
    rule = dataset.rule
    if rule is None:
        return
    strand = str(dataset.metadata.get("strand") or "both")
    for name in augment.names():
        why = rule.augmentation_conflict(name, strand)
        if why:
            flag = "--augment_rc false" if name == REVERSE_COMPLEMENT else "--augment_shift 0"
            raise InputError(f"{name.replace('_', ' ')} would mislabel this {rule.kind} rule's data: {why}; "
                             f"use {flag}")


def resolve(rc: bool | None, shift: int | None, dataset) -> tuple[Augment, list[str]]:
    """The augmentation to train with -> (Augment, one line per augmentation that stepped aside).

    ``rc`` / ``shift`` None mean auto: reverse complements, and shifts of up to AUTO_SHIFT bp (at
    most a tenth of the length), each unless the data's rule says it would mislabel the data. The
    field trains its CNNs so (issue 24: on the code analog, test auROC 0.814 -> 0.935-0.967).
    Reverse complements also step aside for data planted on + only (metadata.json ``strand``
    plus): the labels survive them, but the sequences never hold the - strand's motifs, and
    learning both cost spacing rules their start (a 5-15 bp window at 250 bp, 6,000 sequences:
    test auROC 0.978 without, 0.564 with; distance at 1,000 bp, 10,000 sequences: 0.999 without,
    0.492 with). Data without a rule (a FASTA with labels, as genomes are read) take them. A value
    given is kept, and :func:`check` refuses it where the labels would not survive it."""
    rule = dataset.rule
    strand = str(dataset.metadata.get("strand") or "both")
    notes = []

    def conflict(name: str) -> str | None:
        return None if rule is None else rule.augmentation_conflict(name, strand)

    if rc is None:
        why = conflict(REVERSE_COMPLEMENT)
        if why is None and rule is not None and strand == "plus":
            why = ONE_STRAND
        rc = why is None
        if why:
            notes.append(f"trained without reverse complements: {why}")
    if shift is None:
        why = conflict(SHIFT)
        shift = 0 if why else min(AUTO_SHIFT, int(MAX_SHIFT_SHARE * dataset.seq_length))
        if why:
            notes.append(f"trained without shifts: {why}")
    augment = Augment(rc=bool(rc), shift=int(shift))
    check(augment, dataset)
    return augment, notes


def reverse_complement(onehot: np.ndarray) -> np.ndarray:
    """(N, L, 4) one-hot in A, C, G, T order -> the reverse complements (positions and bases reversed)."""
    return onehot[:, ::-1, ::-1]


def shifted(onehot: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move sequence n by shifts[n] bp (positive: towards the 3' end); bases moved in are PAD."""
    n, length, _ = onehot.shape
    source = np.arange(length)[None, :] - np.asarray(shifts)[:, None]          # (N, L) source position
    inside = (source >= 0) & (source < length)
    out = onehot[np.arange(n)[:, None], np.clip(source, 0, length - 1)]
    out[~inside] = PAD
    return out


def augmented(onehot: np.ndarray, augment: Augment, rng: np.random.Generator) -> np.ndarray:
    """One epoch's draw of the batch: a new array, the input untouched."""
    out = np.array(onehot, dtype=np.float32, copy=True)
    if augment.rc:
        flip = rng.random(len(out)) < 0.5
        out[flip] = reverse_complement(out[flip])
    if augment.shift > 0:
        out = shifted(out, rng.integers(-augment.shift, augment.shift + 1, size=len(out)))
    return out


def batches(x, y, weights, batch_size: int, augment: Augment, seed: int):
    """A keras.utils.PyDataset of the training set: reshuffled and augmented afresh every epoch
    from a generator seeded with (seed, epoch), so the batches do not depend on timing."""
    from utils.models import import_keras

    keras = import_keras()
    y = np.asarray(y, dtype=np.float32)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self._draw()

        def _draw(self):
            rng = np.random.default_rng([seed, 7, self.epoch])
            self.order = rng.permutation(len(x))
            self.x = augmented(x[self.order], augment, rng)

        def __len__(self):
            return -(-len(x) // batch_size)

        def __getitem__(self, i):
            part = slice(i * batch_size, (i + 1) * batch_size)
            rows = self.order[part]
            if w is None:
                return self.x[part], y[rows]
            return self.x[part], y[rows], w[rows]

        def on_epoch_end(self):
            self.epoch += 1
            self._draw()

    return Batches()

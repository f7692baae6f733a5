"""The simdna engine: the same plan, drawn from ``simdna.random`` and embedded with simdna's
own generators and embedders, one sequence at a time; the slow reference implementation."""
from __future__ import annotations

import contextlib
import io

import numpy as np

from utils import motifs as motiflib
from utils.encoding import seqs_to_codes
from utils.engine_numpy import Chunk, instance_sampler
from utils.rules import Rule, draw_plan, site_strands


def generate_chunk_simdna(rule: Rule, labels: np.ndarray, loaded, sd) -> tuple:
    """The same plan, drawn from simdna.random and embedded with simdna's own classes."""
    from simdna.synthetic import backgroundgen, core, embeddablegen, embedders, quantitygen, substringgen

    c = rule.config
    plan = draw_plan(rule, labels, sd.random)
    n, L = len(labels), c.seq_length
    bg_gen = backgroundgen.ZeroOrderBackgroundGenerator(L, dict(zip("ACGT", rule.background)))

    source = {f: p for p, f in rule.fillers.items()}

    def raw_gen(m):
        name = rule.motifs[m].name
        if c.motif_sampling == "consensus":
            return substringgen.BestHitPwmFromLoadedMotifs(loaded, name)
        return substringgen.PwmSamplerFromLoadedMotifs(loaded, name)

    def substring_gen(m):
        if m in source:
            return _ShuffledSubstring(substring_gen(source[m]), rule.motifs[m].name, sd.random)
        lo = motiflib.log_odds(rule.motifs[m], rule.background)
        return _KeptSubstring(raw_gen(m), lo, rule.matches[m].score, readable=m in rule.oriented)

    codes = np.zeros((n, L), dtype=np.uint8)
    motif_id = {m.name: i for i, m in enumerate(rule.motifs)}
    rows, starts, motif_ids = [], [], []
    for r in range(n):
        items = plan.items[r]
        gens = []
        if plan.pair:
            gens.append(embeddablegen.PairEmbeddableGenerator(
                embeddablegen.SubstringEmbeddableGenerator(substring_gen(items[0])),
                embeddablegen.SubstringEmbeddableGenerator(substring_gen(items[1])),
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
    rows, starts, motif_ids = rows[order], starts[order], motif_ids[order]
    strands = np.zeros(len(rows), dtype=np.int8)
    if plan.strands is not None or c.strand == "both":
        # the rule decides each strand (orientation), or each instance turns with p = 1/2
        strands = site_strands(plan, rows, motif_ids) if plan.strands is not None \
            else (sd.random.random_sample(len(rows)) < 0.5).astype(np.int8)
        for r, s0, m in zip(rows[strands == 1], starts[strands == 1], motif_ids[strands == 1]):
            w = int(rule.lengths[m])
            codes[r, s0:s0 + w] = motiflib.reverse_complement(codes[r, s0:s0 + w])
    chunk = Chunk(codes, labels, rows, starts, motif_ids, strands)
    cdf = np.cumsum(rule.background)

    def bases(k):
        return np.minimum(np.searchsorted(cdf, sd.random.random_sample(k) * cdf[-1], side="right"), 3).astype(np.uint8)

    def draw(m, k):
        gen = raw_gen(m)
        return seqs_to_codes([gen.generateSubstring()[0] for _ in range(k)])
    return chunk, bases, instance_sampler(rule, draw, sd.random)


class _KeptSubstring:
    """A simdna PWM sampler that draws again until the instance reaches the match threshold."""

    def __init__(self, inner, lo, threshold, readable: bool = False):
        self.inner, self.lo, self.threshold, self.readable = inner, lo, threshold, readable

    def generateSubstring(self):
        for _ in range(100_000):     # resolve_rule refuses motifs whose draws rarely reach it
            text, desc = self.inner.generateSubstring()
            codes = seqs_to_codes([text])
            if motiflib.window_scores(codes, self.lo)[0] >= self.threshold - 1e-9 \
                    and (not self.readable or motiflib.strand_readable(codes, self.lo)[0]):
                return text, desc
        raise RuntimeError("a planted motif never reached its match threshold")

    def getJsonableObject(self):
        return self.inner.getJsonableObject()


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

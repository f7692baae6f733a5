"""Rule-level faithfulness of an attribution map: do its signs obey the planted rule's logic?

Localization asks whether the large attributions sit on the planted sites. Faithfulness asks
whether the map, read as a statement about which motifs push the output up, states the rule: a
sequence's map is *faithful* when the motifs it supports would, by the planted rule alone, make
the sequence positive. A motif instance is *supported* when the signed sum of the observed-base
map over its site (attribution x input, ISM mean-centred: :func:`utils.localization.observed_base_map`)
exceeds the 95th percentile of the same sum over every window of the site's width that overlaps
no planted site in that sequence: the map must push it up more than it pushes up 19 in 20 stretches of
background. The rule then reads the supported instances as it reads planted ones:

- presence: the supported positive motifs satisfy its logic (any: at least one; all: every one;
  xor: exactly one; at_least K: K or more; :meth:`utils.planted.Presence.positive`);
- copies: at least min_copies supported instances of the motif (code: of the positive motifs together);
- every other rule (order, distance, orientation, phasing, position): each of its motifs supported
  (the arrangement is the model's business; the map must at least credit both partners); each
  rule says it with :meth:`utils.planted.PlantedRule.satisfied_by`;
- order, in addition: the map of the same sequence with its two motifs swapped in place
  (:func:`swapped_positives`; the gap kept) must change with the model's call on it. Where the
  model calls the swapped sequence negative, as a model that learned the order does, the swapped
  map must no longer support both motifs; where it still calls it positive, the map must support
  both again. A map that credits the motifs whatever their order states presence, not order.

The score of a method is the share of its attributed positives (those carrying the rule's motifs)
whose map is faithful. A map of noise supports a site about one time in twenty, so its score is
near 0 for rules needing two motifs; a map that lights one motif of an ``all`` pair scores 0.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from utils.localization import observed_base_map
from utils.perturb import pair_sites, swap_columns
from utils.seqfiles import Site

NULL_QUANTILE = 0.95        # a site is supported when its signed sum beats this quantile of background windows


def site_sums(signed: np.ndarray, sites: Sequence[Site]) -> tuple[list[float], list[float]]:
    """(signed sum over each site, the NULL_QUANTILE of that width's sums over site-free windows)
    for one sequence's (L,) signed map; NaN where no site-free window exists."""
    length = len(signed)
    busy = np.zeros(length, dtype=bool)
    for s in sites:
        busy[max(s.start, 0):min(s.end, length)] = True
    cs = np.concatenate([[0.0], np.cumsum(signed, dtype=np.float64)])
    busy_cs = np.concatenate([[0], np.cumsum(busy)])
    sums, nulls = [], []
    cache: dict[int, float] = {}
    for s in sites:
        w = s.end - s.start
        sums.append(float(cs[min(s.end, length)] - cs[max(s.start, 0)]))
        if w not in cache:
            windows = cs[w:] - cs[:-w] if w <= length else np.zeros(0)
            free = (busy_cs[w:] - busy_cs[:-w]) == 0 if w <= length else np.zeros(0, dtype=bool)
            cache[w] = float(np.quantile(windows[free], NULL_QUANTILE)) if free.any() else float("nan")
        nulls.append(cache[w])
    return sums, nulls


SWAP_KINDS = ("order",)     # rules whose faithfulness also reads the map of the swapped sequence


@dataclass
class Swapped:
    """The attributed positives of an order rule with their two motifs swapped in place."""
    rows: list[int]                   # rows of the attributed sequences that carry one A and one B
    ids: list[str]                    # the swapped sequences' ids (``<id>:swapped``)
    onehot: np.ndarray                # (k, L, 4)
    sites: dict[str, list[Site]]      # every site of each swapped sequence where it now lies
    calls: np.ndarray | None = None   # (k,) bool: does the model call each swapped sequence positive?


def swapped_positives(rule, ids: Sequence[str], labels: np.ndarray, sites: Mapping[str, list[Site]],
                      onehot: np.ndarray) -> Swapped | None:
    """For an order rule (:data:`SWAP_KINDS`, 0/1 labels): the positives carrying exactly one
    instance of each of its two motifs, those instances exchanged as the swap experiment
    exchanges them (:func:`utils.perturb.swap_columns`), every site moved with its bases (a site
    cut by the exchange is dropped). None for other rules or when no positive can be swapped.
    The caller attributes ``onehot`` with the same method and sets ``calls``."""
    if rule is None or rule.kind not in SWAP_KINDS or rule.activity is not None:
        return None
    a, b = rule.pos_motifs[:2]
    labels = np.asarray(labels)
    pairs = pair_sites([list(sites.get(i, ())) for i in ids], a, b)
    rows = [r for r in sorted(pairs) if labels[r] == 1]
    if not rows:
        return None
    x = np.asarray(onehot, dtype=np.float32)
    swapped_ids, maps, moved = [], [], {}
    for r in rows:
        cols = swap_columns(x.shape[1], *pairs[r])
        where = np.argsort(cols)                      # old position -> new position
        sid = f"{ids[r]}:swapped"
        swapped_ids.append(sid)
        maps.append(x[r][cols])
        moved[sid] = [Site(sid, int(where[s.start]), int(where[s.start]) + (s.end - s.start), s.motif, s.strand)
                      for s in sites.get(ids[r], ())
                      if np.all(np.diff(where[s.start:s.end]) == 1)]
    return Swapped(rows, swapped_ids, np.stack(maps), moved)


def attribute_swapped(predictor, swapped: Swapped, methods, **attribution_options) -> dict[str, np.ndarray]:
    """The model's calls on the swapped positives (``swapped.calls``, probability >= 0.5, one batch)
    and each method's maps of them, made as the originals were (``attribution_options``: those of
    :func:`utils.attribution.run_attributions`) -> {method: (k, L, 4) maps}."""
    from utils.attribution import run_attributions

    swapped.calls = np.asarray(predictor.predict(swapped.onehot)) >= 0.5
    made = run_attributions(predictor, swapped.onehot, swapped.ids, list(methods), quiet=True, **attribution_options)
    return {m: maps for m, (maps, _) in made.items()}


def supported_counts(signed_row: np.ndarray, seq_sites: Sequence[Site], wanted: set) -> tuple[Counter, int]:
    """(motif -> supported instances among ``wanted``, number of ``wanted`` sites) for one (L,) map."""
    sums, nulls = site_sums(signed_row, seq_sites)
    supported, n_sites = Counter(), 0
    for s, v, null in zip(seq_sites, sums, nulls):
        if s.motif in wanted:
            n_sites += 1
            if np.isfinite(null) and v > null and v > 0:
                supported[s.motif] += 1
    return supported, n_sites


def faithfulness(rule, ids: Sequence[str], labels: np.ndarray, sites: Mapping[str, list[Site]], method: str,
                 attributions: np.ndarray, onehot: np.ndarray, swapped: Swapped | None = None,
                 swapped_attributions: np.ndarray | None = None) -> dict:
    """One method's faithfulness on the attributed positives carrying a motif of the rule ->
    {n, faithful_share, supported_share (of the rule's sites, all sequences pooled), and for an
    order rule given ``swapped`` with the method's ``swapped_attributions``: n_swapped,
    swap_consistent_share (swapped maps whose support agrees with the model's call)}."""
    signed = observed_base_map(method, attributions, onehot).sum(axis=-1)
    wanted = set(rule.pos_motifs)
    after = {}
    if swapped is not None and swapped_attributions is not None:
        if swapped.calls is None:
            raise ValueError("the model's calls on the swapped sequences are needed (Swapped.calls)")
        signed_swapped = observed_base_map(method, swapped_attributions, swapped.onehot).sum(axis=-1)
        for j, (row, sid) in enumerate(zip(swapped.rows, swapped.ids)):
            counts, _ = supported_counts(signed_swapped[j], swapped.sites[sid], wanted)
            after[row] = rule.satisfied_by(counts) == bool(swapped.calls[j])
    n = faithful = n_sites = n_supported = 0
    for row, (seq_id, label) in enumerate(zip(ids, np.asarray(labels))):
        seq_sites = list(sites.get(seq_id, ()))
        if label != 1 or not any(s.motif in wanted for s in seq_sites):
            continue
        supported, k = supported_counts(signed[row], seq_sites, wanted)
        n_sites += k
        n_supported += sum(supported.values())
        n += 1
        faithful += rule.satisfied_by(supported) and after.get(row, True)
    out = {"n": n, "faithful_share": faithful / n if n else float("nan"),
           "supported_share": n_supported / n_sites if n_sites else float("nan")}
    if after:
        out.update(n_swapped=len(after), swap_consistent_share=float(np.mean(list(after.values()))))
    return out

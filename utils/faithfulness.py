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
  (the arrangement is the model's business; the map must at least credit both partners).

The score of a method is the share of its attributed positives (those carrying the rule's motifs)
whose map is faithful. A map of noise supports a site about one time in twenty, so its score is
near 0 for rules needing two motifs; a map that lights one motif of an ``all`` pair scores 0.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import numpy as np

from utils.localization import observed_base_map
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


def satisfies(rule, supported: Counter) -> bool:
    """Would the planted rule, reading only the ``supported`` instances (motif -> count), call the
    sequence positive?"""
    if rule.kind == "presence":
        return bool(rule.positive([m for m, k in supported.items() if k > 0]))
    if rule.kind in ("copies", "code"):        # a code counts its positive motifs together
        return sum(supported[m] for m in rule.pos_motifs) >= int(rule.min_copies)
    return all(supported[m] >= 1 for m in rule.pos_motifs)


def faithfulness(rule, ids: Sequence[str], labels: np.ndarray, sites: Mapping[str, list[Site]], method: str,
                 attributions: np.ndarray, onehot: np.ndarray) -> dict:
    """One method's faithfulness on the attributed positives carrying a motif of the rule ->
    {n, faithful_share, supported_share (of the rule's sites, all sequences pooled)}."""
    signed = observed_base_map(method, attributions, onehot).sum(axis=-1)
    wanted = set(rule.pos_motifs)
    n = faithful = n_sites = n_supported = 0
    for row, (seq_id, label) in enumerate(zip(ids, np.asarray(labels))):
        seq_sites = list(sites.get(seq_id, ()))
        mine = [s for s in seq_sites if s.motif in wanted]
        if label != 1 or not mine:
            continue
        sums, nulls = site_sums(signed[row], seq_sites)
        supported = Counter()
        for s, v, null in zip(seq_sites, sums, nulls):
            if s.motif in wanted:
                n_sites += 1
                if np.isfinite(null) and v > null and v > 0:
                    supported[s.motif] += 1
                    n_supported += 1
        n += 1
        faithful += satisfies(rule, supported)
    return {"n": n, "faithful_share": faithful / n if n else float("nan"),
            "supported_share": n_supported / n_sites if n_sites else float("nan")}

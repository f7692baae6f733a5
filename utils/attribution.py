"""Attribution maps: which bases of a sequence drive a trained model's output.

Every method is a function ``(predictor, onehot, ...) -> attributions`` with
``onehot`` float32 of shape ``(N, L, 4)`` over ``ACGT`` and ``attributions`` float32
of the same shape, in units of the explained output:

- every predictor that has a logit (``predict_logit``: the CNN's pre-sigmoid output, a
  k-mer model's decision function) is explained on that scale, where effects add up and
  do not saturate near probability 0 or 1, so methods and model kinds compare;
- a predictor with only ``predict`` (e.g. an oracle written in a test) is explained on
  the probability.

Methods:
- ``ism``: in-silico saturation mutagenesis. ``A[i, j, b]`` = output with base ``b``
  at position ``j`` minus the output of the sequence itself (0 at the observed base).
- ``kernel_shap``: shap's KernelExplainer with positions (or windows of ``window``
  bp) as players; an absent player takes the bases of background sequences drawn
  from ``background_dist``. The value of each window is spread evenly over its
  positions and put on the observed base.
- ``deep_shap`` (Keras only): shap's DeepExplainer graph (DeepLIFT rescale rules) against
  background sequences drawn from ``background_dist`` or shuffles of each sequence, many
  sequences per call.
- ``gradient_shap`` (Keras only): expected gradients, as shap's GradientExplainer computes them.
- ``saliency`` (Keras only): the gradient of the logit with respect to the input.
- ``integrated_gradients`` (Keras only): gradients averaged on the straight path from the
  background's expected one-hot to the input, times (input - reference).
With ``gradient_correction`` the gradient methods' maps have the mean over the four bases
subtracted at each position (Majdandzic et al. 2023; :func:`correct_gradients`).

Only the Predictor protocol of :mod:`utils.models` is used (duck typing), so oracle
predictors written in a test work as well as trained models. The maps are scored against
planted sites in :mod:`utils.localization` and written by :mod:`utils.attribution_outputs`.
"""
from __future__ import annotations

import contextlib
import io
import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from utils import fast_ism
from utils.augment import reverse_complement
from utils.background import sample_background
from utils.cli import progress, say
from utils.encoding import codes_to_onehot, onehot_to_codes
from utils.io import InputError, check_base_distribution
from utils.stats import stable_seed

ISM_CHUNK = 4096              # variants per predictor call: amortises the call cost, bounds memory
# KernelSHAP defaults, chosen on default presence data with the default CNN (30 positives):
# window 5 / 500 coalitions / 5 backgrounds gives auROC 0.95 at ~0.4 s per sequence, while
# single positions need far more coalitions (window 1, 2000 coalitions: auROC 0.83, 1.8 s).
KERNEL_WINDOW = 5             # bp per player
KERNEL_NSAMPLES = 500         # coalitions per sequence
KERNEL_BACKGROUND = 5         # background sequences per coalition (model calls = nsamples * this)
DEEP_BACKGROUND = 20          # reference sequences for DeepSHAP and GradientSHAP
REFERENCES = ("dinuc", "shuffle", "dist")   # references of DeepSHAP and GradientSHAP (see references_for)
REFERENCE = "dinuc"           # the default: dinucleotide shuffles of each sequence (BPNet, tangermeme)
GRADIENT_NSAMPLES = 200       # interpolation points per sequence for GradientSHAP
GRADIENT_BATCH = 512          # sequences per gradient evaluation
DEEP_ROWS = 2560              # DeepSHAP: rows (sequences and references) per call at 200 bp, fewer when longer
UNIFORM = (0.25, 0.25, 0.25, 0.25)


# ----------------------------------------------------------------------------- model access
def has_keras_graph(predictor) -> bool:
    """True when the predictor exposes a Keras graph that gradients can run through (a model read on
    both strands, models.RCAveraged: its strand model's)."""
    return getattr(getattr(predictor, "strand", predictor), "keras_model", None) is not None


def both_strands(function: Callable, predictor, x: np.ndarray, **kwargs) -> np.ndarray:
    """``function``'s attribution map of ``predictor`` on ``x``; for a model read on both strands
    (models.RCAveraged: the mean of its strand model's logits on a sequence and on its reverse
    complement) the mean of the strand model's maps of ``x`` and of its reverse complements, the
    latter mapped back (positions and bases reversed). Exact for saliency and ISM, which are linear
    in the output; for the methods with references, each strand against its own draw of them."""
    strand = getattr(predictor, "strand", None)
    if strand is None:
        return function(predictor, x, **kwargs)
    forward = np.asarray(function(strand, x, **kwargs), dtype=np.float32)
    backward = np.asarray(function(strand, np.ascontiguousarray(reverse_complement(x)), **kwargs), dtype=np.float32)
    return (forward + reverse_complement(backward)) / np.float32(2)


def output_scale(predictor) -> str:
    """The output every method explains for this predictor: ``'value'`` for a regression (its
    output itself), ``'logit'`` whenever a classifier has one (Keras and k-mer models alike, so
    methods and kinds compare), else ``'probability'``."""
    if getattr(predictor, "output_kind", "probability") == "value":
        return "value"
    return "logit" if callable(getattr(predictor, "predict_logit", None)) else "probability"


def explained_output(predictor) -> Callable[[np.ndarray], np.ndarray]:
    """``(N, L, 4) float32 -> (N,) float64``: the logit where the predictor has one, else the probability."""
    fn = predictor.predict_logit if output_scale(predictor) == "logit" else predictor.predict

    def output(onehot: np.ndarray) -> np.ndarray:
        return np.asarray(fn(np.asarray(onehot, dtype=np.float32)), dtype=np.float64).reshape(-1)

    return output


def quiet_import_tensorflow():
    """TensorFlow, imported with its start-up chatter on stderr silenced (see models.import_keras)."""
    from utils.models import import_keras

    import_keras()
    import tensorflow as tf
    return tf


@contextlib.contextmanager
def _quiet_shap():
    """Silence the warnings shap and Keras 3 raise on every explainer call (all harmless here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*structure of `inputs`.*")
        warnings.filterwarnings("ignore", message=r".*TensorFlow version is newer.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def _import_shap(deep: bool = False):
    """Import shap without the deprecation warnings its plotting colours raise at import.

    ``deep``: also prepare DeepExplainer. Its TensorFlow module imports TensorFlow, so it is
    loaded only then, after TensorFlow's muted import (KernelSHAP on a k-mer model needs no
    TensorFlow, and its start-up lines would otherwise reach stderr). TensorFlow runs a
    dilated convolution as SpaceToBatchND -> convolution -> BatchToSpaceND. Those two ops
    only move values (and pad or crop with zeros): they are linear in their first input,
    which is how shap's DeepExplainer is told to treat them (its handler for ops such as
    Reshape or Pad); its own table lacks them. Additivity on the dilated CNN is checked in
    tests/test_cnn.py.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    if deep:
        quiet_import_tensorflow()
        from shap.explainers._deep import deep_tf
        for op in ("SpaceToBatchND", "BatchToSpaceND"):
            deep_tf.op_handlers.setdefault(op, deep_tf.linearity_1d(0))
    return shap


@contextlib.contextmanager
def _numpy_global_seed(seed: int):
    """Seed numpy's global generator (shap samples from it) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(int(seed) % (2 ** 32))
    try:
        yield
    finally:
        np.random.set_state(state)


def _derived_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and ``keys`` (e.g. a sequence index)."""
    return int(np.random.SeedSequence([int(seed) % (2 ** 63), *keys]).generate_state(1)[0])


# ----------------------------------------------------------------------------- inputs
def check_onehot(predictor, onehot) -> np.ndarray:
    """Return ``onehot`` as float32 (N, L, 4), refusing shapes the predictor cannot take
    (the predictor's own ``check_input`` where it has one, so the rule lives in one place)."""
    if callable(getattr(predictor, "check_input", None)):
        return predictor.check_input(onehot)
    x = np.asarray(onehot, dtype=np.float32)
    length = getattr(predictor, "input_length", None)
    if x.ndim != 3 or x.shape[2] != 4 or (length is not None and x.shape[1] != int(length)):
        raise InputError(f"the model takes one-hot sequences of shape (N, {length or 'L'}, 4); "
                         f"got {x.shape}")
    return x


def check_background_dist(background_dist) -> np.ndarray:
    """None -> uniform; else :func:`utils.io.check_base_distribution`."""
    return np.array(UNIFORM) if background_dist is None else check_base_distribution(background_dist)


def background_sequences(num: int, length: int, background_dist=None, seed: int = 0) -> np.ndarray:
    """``num`` i.i.d. sequences of ``length`` bp drawn from ``background_dist`` -> (num, L, 4) float32.

    The references of KernelSHAP, DeepSHAP and GradientSHAP, drawn by the suite's one background
    sampler (:func:`utils.background.sample_background`, as the generator and the experiments
    draw); the same seed gives the same draws.
    """
    dist = check_background_dist(background_dist)
    return codes_to_onehot(sample_background(int(num), int(length), dist, np.random.default_rng(seed)))


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One shuffle of a code sequence (uint8, 0-4 with 4 = N) that keeps every dinucleotide count
    and the first and last letter (Altschul & Erickson 1985): a random Eulerian path through the
    graph of letter transitions, whose last exits form a random arborescence into the last letter
    (Wilson's loop-erased walks), as fasta-shuffle-letters and tangermeme shuffle."""
    seq = np.asarray(codes, dtype=np.int64)
    if len(seq) < 3:
        return seq.astype(np.uint8)
    exits = {}
    for a, b in zip(seq[:-1], seq[1:]):
        exits.setdefault(int(a), []).append(int(b))
    root = int(seq[-1])
    last = {root: None}                 # vertex -> its designated last exit (into the tree)
    in_tree = {root}
    for start in exits:
        u, path = start, {}
        while u not in in_tree:         # random walk to the tree, loops erased by overwriting
            nxt = exits[u][int(rng.integers(len(exits[u])))]
            path[u] = nxt
            u = nxt
        u = start
        while u not in in_tree:
            in_tree.add(u)
            last[u] = path[u]
            u = path[u]
    order = {}
    for u, out in exits.items():
        rest = list(out)
        if last.get(u) is not None:
            rest.remove(last[u])
        rest = [rest[i] for i in rng.permutation(len(rest))]
        order[u] = rest + ([last[u]] if last.get(u) is not None else [])
    out, used = [int(seq[0])], {u: 0 for u in order}
    for _ in range(len(seq) - 1):
        u = out[-1]
        out.append(order[u][used[u]])
        used[u] += 1
    return np.asarray(out, dtype=np.uint8)


def dinucleotide_shuffled_sequences(onehot_row: np.ndarray, num: int, rng: np.random.Generator) -> np.ndarray:
    """``num`` dinucleotide shuffles of one sequence: (L, 4) -> (num, L, 4) (N positions stay all-zero rows)."""
    row = np.asarray(onehot_row, dtype=np.float32)
    codes = np.where(row.sum(axis=1) > 0, row.argmax(axis=1), 4).astype(np.uint8)
    eye = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
    return np.stack([eye[dinucleotide_shuffle(codes, rng)] for _ in range(int(num))])


def shuffled_sequences(onehot_row: np.ndarray, num: int, rng: np.random.Generator) -> np.ndarray:
    """``num`` shuffles of one sequence's positions: (L, 4) -> (num, L, 4), same base composition."""
    order = np.argsort(rng.random((int(num), onehot_row.shape[0])), axis=1)
    return np.asarray(onehot_row, dtype=np.float32)[order]


def references_for(reference: str, num: int, length: int, background_dist=None, seed: int = 0):
    """The references of DeepSHAP and GradientSHAP -> ``(shared, per_sequence)``, one of them None.

    ``'dist'``: ``num`` sequences drawn once from ``background_dist`` (seeded), shared by every
    explained sequence (``shared``, (num, L, 4)); ``'shuffle'`` / ``'dinuc'``: ``num`` shuffles of
    each explained sequence itself, of its positions or of its dinucleotides (``per_sequence``,
    a function (L, 4) -> (num, L, 4) drawing from one generator seeded once, so the i-th call
    gives the i-th sequence's references).
    """
    if reference not in REFERENCES:
        raise InputError(f"the reference must be one of {', '.join(REFERENCES)}; got {reference!r}")
    if num < 1:
        raise InputError(f"the number of reference sequences must be 1 or more; got {num}")
    if reference == "dist":
        return background_sequences(num, length, background_dist, seed), None
    rng = np.random.default_rng(seed)
    shuffle = dinucleotide_shuffled_sequences if reference == "dinuc" else shuffled_sequences
    return None, lambda row: shuffle(row, num, rng)


def pick_attribution_seqs(labels: np.ndarray, num: int, min_negatives: int = 5) -> np.ndarray:
    """Indices of the sequences to attribute: positives first, then negatives, ``num`` in all.

    Up to ``min_negatives`` places are kept for negatives (when there are any) so the
    logos can show what the maps look like where the rule is absent. Order within each
    class is the input order.
    """
    labels = np.asarray(labels)
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels != 1)
    num = int(min(num, len(labels)))
    reserve = int(min(min_negatives, len(neg), num))
    take_pos = min(len(pos), num - reserve)
    take_neg = min(len(neg), num - take_pos)
    return np.concatenate([pos[:take_pos], neg[:take_neg]]).astype(np.int64)


# ----------------------------------------------------------------------------- methods
def ism(predictor, onehot: np.ndarray, chunk_size: int = ISM_CHUNK, quiet: bool = True,
        local_ok: bool = True) -> np.ndarray:
    """In-silico saturation mutagenesis over every alternative base at every position.

    onehot: (N, L, 4) float32. Returns (N, L, 4) float32: ``A[i, j, b]`` = output of
    sequence i with base b at position j minus the output of sequence i (0 at the
    observed base; all four bases are tried at an N). The variants of all sequences are
    pooled into chunks of ``chunk_size`` and each chunk is one predictor call, because
    per-call overhead, not arithmetic, dominates small batches.
    Per-position importance is ``abs(A).sum(-1)``.

    The suite's dilated CNN is taken by :mod:`utils.fast_ism`, which recomputes only the
    positions a mutation reaches (same values within float32 rounding); ``local_ok=False``
    runs every variant through the whole model.
    """
    x = check_onehot(predictor, onehot)
    if chunk_size < 1:
        raise InputError(f"the ISM chunk size must be 1 or more; got {chunk_size}")
    n, length, _ = x.shape
    delta = np.zeros((n, length, 4), dtype=np.float32)
    if n == 0:
        return delta
    local = fast_ism.for_predictor(predictor) if local_ok else None
    if local is not None:
        return local(x, output_scale(predictor), chunk_size=int(chunk_size), quiet=quiet)
    output = explained_output(predictor)
    reference = output(x)
    seq_idx, pos, base = np.nonzero(x == 0)
    starts = range(0, len(seq_idx), int(chunk_size))
    for start in progress(starts, total=len(starts), desc="ism", quiet=quiet, unit="chunk"):
        s = seq_idx[start:start + chunk_size]
        p = pos[start:start + chunk_size]
        b = base[start:start + chunk_size]
        variants = x[s]                       # fancy indexing copies
        rows = np.arange(len(s))
        variants[rows, p, :] = 0.0
        variants[rows, p, b] = 1.0
        delta[s, p, b] = output(variants) - reference[s]
    return delta


def kernel_shap(predictor, onehot: np.ndarray, background_dist=None, window: int = KERNEL_WINDOW,
                nsamples: int = KERNEL_NSAMPLES, num_background: int = KERNEL_BACKGROUND,
                seed: int = 0, quiet: bool = True) -> np.ndarray:
    """KernelSHAP with windows of ``window`` bp as players, absent windows resampled from background.

    onehot: (N, L, 4) float32. ``num_background`` sequences are drawn once from
    ``background_dist`` (seeded); an absent window takes the bases of one background
    sequence, and shap averages the model over all of them. ``l1_reg`` is off, so every
    window gets a value (shap's default keeps only 10 features). Cost per sequence:
    ``nsamples * num_background`` model evaluations, all in one batched predictor call.
    Returns (N, L, 4) float32: each window's Shapley value spread evenly over its
    positions and put on the observed base; per sequence the values add up to
    ``f(x) - mean f(background)``. Seeded per sequence (``seed``, index), so the same
    inputs give the same values.
    """
    shap = _import_shap()

    x = check_onehot(predictor, onehot)
    n, length, _ = x.shape
    window = int(window)
    if not 1 <= window <= length:
        raise InputError(f"--window must be between 1 and the sequence length ({length} bp); "
                         f"got {window}")
    num_players = math.ceil(length / window)
    if nsamples <= num_players:
        raise InputError(f"--nsamples {nsamples} is too few for {num_players} windows of {window} bp; "
                         f"use more than {num_players} or a larger --window")
    if num_background < 1:
        raise InputError(f"the number of background sequences must be 1 or more; got {num_background}")
    output = explained_output(predictor)
    background = onehot_to_codes(background_sequences(num_background, length, background_dist, seed))
    player_of = np.arange(length) // window                       # position -> window
    window_bp = np.bincount(player_of, minlength=num_players)     # last window may be shorter
    # Players are coded, not given bases: 0 = "this sequence's bases", -(k+1) = "background
    # sequence k's bases". shap puts one background row per coalition copy, so each
    # evaluated row mixes the sequence with exactly one background sequence.
    background_rows = -(np.arange(num_background, dtype=np.float64)[:, None] + 1) \
        * np.ones((1, num_players))
    attributions = np.zeros_like(x)
    for i in progress(range(n), total=n, desc="kernel_shap", quiet=quiet, unit="seq"):
        codes = onehot_to_codes(x[i:i + 1])[0]

        def model(players: np.ndarray, codes=codes) -> np.ndarray:
            players = np.asarray(players, dtype=np.float64)
            keep = players[:, player_of] >= 0                                   # (m, L)
            which = np.clip(-players.min(axis=1) - 1, 0, num_background - 1).astype(np.int64)
            mixed = np.where(keep, codes[None, :], background[which])
            return output(codes_to_onehot(mixed))

        with _quiet_shap(), _numpy_global_seed(_derived_seed(seed, i)):
            explainer = shap.KernelExplainer(model, background_rows)
            phi = explainer.shap_values(np.zeros((1, num_players)), nsamples=int(nsamples),
                                        l1_reg=False, silent=True)
        phi = np.asarray(phi, dtype=np.float64).reshape(-1)[:num_players]
        per_position = phi[player_of] / window_bp[player_of]
        attributions[i] = (per_position[:, None] * x[i]).astype(np.float32)
    return attributions


def _require_keras(predictor, method: str):
    if not has_keras_graph(predictor):
        kind = getattr(predictor, "kind", type(predictor).__name__)
        raise InputError(f"{method} needs a Keras model but {kind} has no Keras graph; "
                         f"use ism or kernel_shap")
    model = getattr(predictor, "logit_model", None)
    if model is None:
        raise InputError(f"{method} needs the model's logit graph but the predictor exposes no "
                         f"logit_model; retrain the model with Train_models.py")
    quiet_import_tensorflow()
    return model


def deep_shap(predictor, onehot: np.ndarray, reference: str = REFERENCE, background_dist=None,
              num_background: int = DEEP_BACKGROUND, seed: int = 0, quiet: bool = True) -> np.ndarray:
    """DeepSHAP (shap DeepExplainer) on the logit of a Keras predictor.

    onehot: (N, L, 4) float32. ``reference`` (:func:`references_for`): ``'dinuc'`` (default) =
    ``num_background`` dinucleotide shuffles of each sequence (the BPNet / tangermeme reference:
    it keeps the sequence's CpG and other dinucleotide content); ``'shuffle'`` = position
    shuffles of each; ``'dist'`` = sequences drawn once from ``background_dist``, shared by all.
    Returns (N, L, 4) float32 attributions on all four channels; per sequence they add
    up to ``logit(x) - mean logit(references)``.
    """
    shap = _import_shap(deep=True)

    model = _require_keras(predictor, "deep_shap")
    x = check_onehot(predictor, onehot)
    n, length, _ = x.shape
    shared, per_sequence = references_for(reference, num_background, length, background_dist, seed)
    refs_of = (lambda row: shared) if shared is not None else per_sequence
    attributions = np.zeros_like(x)
    with _quiet_shap():
        # shap's explainer for its graph with the DeepLIFT rules; its shap_values runs that graph once
        # per explained sequence (sequence tiled beside its references), which on a small CNN costs
        # more in calls than in arithmetic. Every rule pairs row k of the batch's first half with row k
        # of its second half, so many sequences go through one call: the first half every sequence
        # tiled once per reference, the second half their references, in the same order.
        inner, graph = _deep_graph(shap, predictor, model, length)
        per_call = max(1, DEEP_ROWS // (2 * max(1, num_background) * max(1, length // 200)))
        starts = range(0, n, per_call)
        for start in progress(starts, total=len(starts), desc="deep_shap", quiet=quiet, unit="batch"):
            chunk = x[start:start + per_call]
            refs = np.stack([refs_of(row) for row in chunk]).astype(np.float32)      # (k, R, L, 4)
            k, r = refs.shape[:2]
            tiled = np.repeat(chunk[:, None], r, axis=1)
            joint = np.concatenate([tiled.reshape(k * r, length, 4), refs.reshape(k * r, length, 4)])
            grads = np.asarray(inner.run(graph, inner.model_inputs, [joint])[0])[k * r:]
            phi = (grads.reshape(k, r, length, 4) * (tiled - refs)).mean(axis=1)
            attributions[start:start + k] = phi.astype(np.float32)
    return attributions


def _deep_graph(shap, predictor, model, length: int):
    """shap's DeepExplainer internals for ``model`` and its traced DeepLIFT gradient graph, built
    once per predictor and kept on it: the graph reads the references from the batch's second half
    (deep_shap pairs them), never from the explainer's background, so one serves every call, and
    the second call on a predictor skips the graph's tracing (about half of a 64-sequence call at
    200 bp)."""
    cached = getattr(predictor, "_deep_shap_graph", None)
    if cached is not None and cached[0] is model:
        return cached[1], cached[2]
    explainer = shap.DeepExplainer(model, np.zeros((1, length, 4), np.float32))   # background unused
    inner = explainer.explainer
    graph = inner.phi_symbolic(0)
    try:
        predictor._deep_shap_graph = (model, inner, graph)
    except AttributeError:             # a predictor that takes no attributes: build it every call
        pass
    return inner, graph


def gradient_shap(predictor, onehot: np.ndarray, reference: str = REFERENCE, background_dist=None,
                  num_background: int = DEEP_BACKGROUND, nsamples: int = GRADIENT_NSAMPLES,
                  seed: int = 0, quiet: bool = True, batch_size: int = GRADIENT_BATCH) -> np.ndarray:
    """GradientSHAP / expected gradients (Erion et al. 2021) on the logit of a Keras predictor,
    computed as shap's GradientExplainer does (no smoothing) but on the suite's own gradient graph,
    so each sequence can have references of its own.

    onehot: (N, L, 4) float32. References as :func:`deep_shap` takes them (``reference``,
    ``num_background``). Each sequence averages ``gradient(r + a (x - r)) x (x - r)`` over
    ``nsamples`` draws of a reference r among its references and a ~ U(0, 1) (seeded by
    ``seed``; the draws of one sequence follow its references' draws). Returns (N, L, 4) float32;
    per sequence the sum approximates ``logit(x) - mean logit(references)``.
    """
    model = _require_keras(predictor, "gradient_shap")
    tf = quiet_import_tensorflow()
    x = check_onehot(predictor, onehot)
    n, length, _ = x.shape
    if nsamples < 1:
        raise InputError("GradientSHAP needs at least one sample")
    shared, per_sequence = references_for(reference, num_background, length, background_dist, seed)
    rng = np.random.default_rng([seed, 1])
    gradient = _input_gradient(model, length)
    out = np.zeros_like(x)
    per_batch = max(1, int(batch_size) // int(nsamples))
    starts = range(0, n, per_batch)
    with _quiet_shap():
        for start in progress(starts, total=len(starts), desc="gradient_shap", quiet=quiet, unit="batch"):
            chunk = x[start:start + per_batch]
            diffs, points = [], []
            for row in chunk:
                refs = shared if shared is not None else per_sequence(row)
                pick = rng.integers(len(refs), size=int(nsamples))
                alpha = rng.random(int(nsamples)).astype(np.float32)[:, None, None]
                diff = row[None] - refs[pick]
                diffs.append(diff)
                points.append(refs[pick] + alpha * diff)
            grads = gradient(tf.constant(np.concatenate(points).astype(np.float32))).numpy()
            grads = grads.reshape(len(chunk), int(nsamples), length, 4)
            out[start:start + len(chunk)] = (grads * np.stack(diffs)).mean(axis=1)
    return out


def _input_gradient(model, length: int):
    """A compiled ``batch (n, length, 4) -> d model(batch) / d batch``; the fixed input signature
    traces the graph once for every batch size."""
    tf = quiet_import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec((None, length, 4), tf.float32)])
    def gradient(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            # summed inside the tape: each sequence's output depends on its own input only
            total = tf.reduce_sum(model(batch, training=False))
        return tape.gradient(total, batch)
    return gradient


def saliency(predictor, onehot: np.ndarray, batch_size: int = GRADIENT_BATCH,
             quiet: bool = True) -> np.ndarray:
    """Saliency: d logit / d input through ``predictor.logit_model`` (tf.GradientTape).

    onehot: (N, L, 4) float32. Returns (N, L, 4) float32 gradients on all four channels
    (multiply by ``onehot`` for gradient x input).
    """
    model = _require_keras(predictor, "saliency")
    tf = quiet_import_tensorflow()
    x = check_onehot(predictor, onehot)
    n, length, _ = x.shape
    gradient = _input_gradient(model, length)
    out = np.zeros_like(x)
    starts = range(0, n, int(batch_size))
    with _quiet_shap():
        for start in progress(starts, total=len(starts), desc="saliency", quiet=quiet, unit="batch"):
            out[start:start + batch_size] = gradient(tf.constant(x[start:start + batch_size])).numpy()
    return out


IG_STEPS = 50                 # path points per sequence (midpoint rule): completeness within ~1%


def integrated_gradients(predictor, onehot: np.ndarray, background_dist=None, steps: int = IG_STEPS,
                         batch_size: int = GRADIENT_BATCH, quiet: bool = True) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) on the explained output of a Keras predictor.

    The reference is the expected one-hot of the background: every position holds
    ``background_dist`` (0.25 each by default), the input a model sees when no base is known.
    ``A = (x - r) * mean over alpha of d f(r + alpha (x - r)) / d x``, alpha at the midpoints of
    ``steps`` equal intervals; per sequence the sum approximates ``f(x) - f(r)``.
    Returns (N, L, 4) float32 on all four channels.
    """
    model = _require_keras(predictor, "integrated_gradients")
    tf = quiet_import_tensorflow()
    x = check_onehot(predictor, onehot)
    n, length, _ = x.shape
    if steps < 1:
        raise InputError(f"integrated gradients needs 1 step or more; got {steps}")
    reference = np.broadcast_to(check_background_dist(background_dist).astype(np.float32), (length, 4))
    alphas = ((np.arange(steps, dtype=np.float32) + 0.5) / steps)[:, None, None]
    gradient = _input_gradient(model, length)
    out = np.zeros_like(x)
    per_batch = max(1, int(batch_size) // steps)
    starts = range(0, n, per_batch)
    with _quiet_shap():
        for start in progress(starts, total=len(starts), desc="integrated_gradients", quiet=quiet, unit="batch"):
            chunk = x[start:start + per_batch]
            path = (reference[None, None] + alphas[None] * (chunk[:, None] - reference[None, None]))
            grads = gradient(tf.constant(path.reshape(-1, length, 4).astype(np.float32))).numpy()
            mean = grads.reshape(len(chunk), steps, length, 4).mean(axis=1)
            out[start:start + len(chunk)] = (chunk - reference[None]) * mean
    return out


SQUID_LIBRARY = 2000        # variants per sequence in SQUID's in-silico MAVE
SQUID_MUT_RATE = 0.1        # expected share of positions mutated in each variant (Poisson count)
SQUID_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)    # RidgeCV's regularization grid (5-fold)


def squid(predictor, onehot: np.ndarray, library: int = SQUID_LIBRARY, mut_rate: float = SQUID_MUT_RATE,
          seed: int = 0, quiet: bool = True) -> np.ndarray:
    """SQUID (Seitz et al. 2024) with its additive surrogate, through ``predict`` only: per sequence,
    an in-silico MAVE of ``library`` variants with Poisson(``mut_rate`` x L) random substitutions
    (squid-nn's RandomMutagenesis), the explained output of each (the logit where the model has
    one), and squid-nn's additive ridge surrogate (SurrogateRidgeCV: RidgeCV over the one-hot
    variants, 5-fold over :data:`SQUID_ALPHAS`). Returns (N, L, 4) float32: the surrogate's
    additive weights, centred over the four bases at each position (the zero-sum gauge: a one-hot
    position's four weights are known only up to a shared offset). Seeded per sequence (``seed``,
    index); numpy's global random state, which squid-nn seeds, is restored afterwards."""
    from scipy.linalg import LinAlgWarning

    from utils.cli import progress

    quiet_import_tensorflow()          # squid-nn imports TensorFlow for its optional surrogates
    with _quiet_shap():
        from squid import mutagenizer, surrogate_zoo
    x = np.asarray(onehot, dtype=np.float32)
    n, length = x.shape[0], x.shape[1]
    out = np.zeros_like(x)
    f = explained_output(predictor)
    state = np.random.get_state()
    try:
        for i in progress(range(n), total=n, desc="squid", quiet=quiet, unit="seq"):
            gen = mutagenizer.RandomMutagenesis(mut_rate=mut_rate, seed=stable_seed("squid", seed, i) % (2 ** 32))
            with contextlib.redirect_stderr(io.StringIO()):       # squid-nn's own progress bar
                x_mut = gen(x[i], library).astype(np.float32)
            y_mut = f(x_mut)
            surrogate = surrogate_zoo.SurrogateRidgeCV((library, length, 4), 1, alphas=list(SQUID_ALPHAS), cv=5,
                                                       deduplicate=False)
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                # one-hot columns sum to 1 at each position: the smallest alphas meet a singular
                # design, which RidgeCV's own cross-validation then passes over
                warnings.simplefilter("ignore", LinAlgWarning)
                warnings.filterwarnings("ignore", message=r".*DataFrame.from_dict.*")   # squid-nn's, under pandas 3
                surrogate.train(x_mut, y_mut, verbose=0)
            theta = np.asarray(surrogate.get_params()[1], dtype=np.float64)
            out[i] = (theta - theta.mean(axis=-1, keepdims=True)).astype(np.float32)
    finally:
        np.random.set_state(state)
    return out


GRADIENT_METHODS = ("saliency", "integrated_gradients", "gradient_shap")


def correct_gradients(attributions: np.ndarray) -> np.ndarray:
    """The gradient correction of Majdandzic et al. (2023): subtract, at each position, the mean
    over the four bases. One-hot inputs live on a simplex, and a gradient's component
    orthogonal to it (the same at all four bases) is off-simplex noise that no DNA sequence can
    follow; removing it leaves the part a change of base can realize."""
    a = np.asarray(attributions, dtype=np.float32)
    return (a - a.mean(axis=-1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Method:
    """One attribution method: its function and whether it needs a Keras graph."""
    name: str
    function: Callable[..., np.ndarray]
    needs_keras: bool
    default: bool = True          # among the methods run when --methods is not given


METHODS: dict[str, Method] = {
    "ism": Method("ism", ism, False),
    "kernel_shap": Method("kernel_shap", kernel_shap, False),
    "deep_shap": Method("deep_shap", deep_shap, True),
    "gradient_shap": Method("gradient_shap", gradient_shap, True),
    "saliency": Method("saliency", saliency, True),
    "integrated_gradients": Method("integrated_gradients", integrated_gradients, True),
    "squid": Method("squid", squid, False, default=False),     # about SQUID_LIBRARY predictions per sequence
}


def supported_methods(predictor) -> list[str]:
    """The methods this predictor can run, in registry order."""
    keras = has_keras_graph(predictor)
    return [name for name, m in METHODS.items() if keras or not m.needs_keras]


def resolve_methods(requested, predictor) -> tuple[list[str], list[str]]:
    """Turn ``--methods`` into (methods to run, notes on the ones skipped).

    ``requested``: None, ``'all'``, ``'none'``, a comma-separated string or a list of names;
    None and empty mean every default method (all but squid, which costs a library of predictions
    per sequence), ``'all'`` every method, ``'none'`` no method. Unknown names raise InputError; Keras-only
    methods on a model without a Keras graph are skipped with a note, not an error.
    """
    if requested is None or (isinstance(requested, str) and requested.strip() == ""):
        names: list[str] = []
    elif isinstance(requested, str) and requested.strip().lower() == "all":
        names = ["all"]
    elif isinstance(requested, str):
        names = [part.strip() for part in requested.split(",") if part.strip()]
    else:
        names = [str(part).strip() for part in requested if str(part).strip()]
    if not names:
        names = [name for name, m in METHODS.items() if m.default]
    elif names == ["all"]:
        names = list(METHODS)
    if names == ["none"]:
        return [], []
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise InputError(f"unknown attribution method {unknown[0]!r}; choose from "
                         f"{', '.join(METHODS)}, or all, or none")
    run, notes = [], []
    keras = has_keras_graph(predictor)
    kind = getattr(predictor, "kind", type(predictor).__name__)
    for name in dict.fromkeys(names):
        if METHODS[name].needs_keras and not keras:
            notes.append(f"{name} skipped: {kind} has no Keras graph")
        elif name == "deep_shap" and not getattr(predictor, "deep_shap_ok", True):
            notes.append("deep_shap skipped: shap's DeepExplainer handles only some layers (not global "
                         "pooling, for one) and a model file from elsewhere may hold others; saliency and "
                         "gradient_shap run on its gradients")
        else:
            run.append(name)
    return run, notes


def run_attributions(predictor, onehot: np.ndarray, ids: Sequence[str], methods: Iterable[str],
                     background_dist=None, seed: int = 0, window: int = KERNEL_WINDOW,
                     nsamples: int = KERNEL_NSAMPLES, quiet: bool = False,
                     reference: str = REFERENCE,
                     gradient_correction: bool = False) -> dict[str, tuple[np.ndarray, float]]:
    """Run each method on the same sequences -> ``{method: (attributions (N, L, 4), seconds)}``.

    ``ids`` name the N sequences (checked against ``onehot``); ``window`` and ``nsamples``
    are KernelSHAP's; ``background_dist`` ([pA, pC, pG, pT], None = uniform) gives the
    references of KernelSHAP and integrated gradients, and of DeepSHAP and GradientSHAP when
    ``reference`` (:data:`REFERENCES`) is ``'dist'``; ``gradient_correction`` applies
    :func:`correct_gradients` to the maps of :data:`GRADIENT_METHODS`. Seconds are wall-clock per method. Prints one line per method
    unless ``quiet``.
    """
    x = check_onehot(predictor, onehot)
    if len(ids) != len(x):
        raise InputError(f"{len(ids)} ids were given for {len(x)} sequences; give one id per sequence")
    check_background_dist(background_dist)
    results: dict[str, tuple[np.ndarray, float]] = {}
    for name in methods:
        if name not in METHODS:
            raise InputError(f"unknown attribution method {name!r}; choose from {', '.join(METHODS)}")
        kwargs: dict = {"quiet": quiet}
        if name == "kernel_shap":
            kwargs.update(background_dist=background_dist, window=window, nsamples=nsamples, seed=seed)
        elif name == "deep_shap":
            kwargs.update(reference=reference, background_dist=background_dist, seed=seed)
        elif name == "gradient_shap":
            kwargs.update(reference=reference, background_dist=background_dist, seed=seed)
        elif name == "integrated_gradients":
            kwargs.update(background_dist=background_dist)
        elif name == "squid":
            kwargs.update(seed=seed)
        start = time.perf_counter()
        attributions = both_strands(METHODS[name].function, predictor, x, **kwargs)
        if gradient_correction and name in GRADIENT_METHODS:
            attributions = correct_gradients(attributions)
        seconds = time.perf_counter() - start
        results[name] = (attributions, seconds)
        per_seq = seconds / max(len(x), 1)
        say(f"{name}: {len(x)} sequences in {seconds:.1f} s ({per_seq * 1000:.1f} ms per sequence)", quiet)
    return results

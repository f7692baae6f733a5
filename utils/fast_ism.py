"""ISM that recomputes only what a mutation reaches, for the suite's dilated CNN (fastISM).

A single-base change at position p alters the first convolution's outputs over
``[p - kernel + 1, p]`` only, so after the first pooling a handful of positions, and
each dilated layer of the tower widens that window by its dilation on either side.
Everything outside the window is the reference's own activation. Computing the window
alone, with the reference's activations spliced in around it, gives the same outputs as
running the whole model on every variant (Sasse et al. 2023, "fastISM"), at a fraction of
the arithmetic once sequences are long: at 500 bp the five-layer tower recomputes 144 of
its 600 position-layers per variant. The global max pool at the end takes the larger of the
window's maximum and the reference's maximum outside it (prefix and suffix maxima); the
global mean of ``final_pool="maxavg"`` adds the window's sum to the reference's sums outside
it (prefix and suffix sums). Jobs of XLA_FROM variants or more run the same steps as XLA-fused
blocks between the convolutions (:meth:`LocalISM._fused`), their chunks side by side on the
run's cores.

Only the graphs :func:`utils.models.build_cnn` makes with ``architecture="dilated"`` (relu or
exponential first activation) are taken this way (:func:`utils.cnn_graph.tower_layout` checks them layer by layer, by name and
kind); anything else goes through the generic batched ISM in :func:`utils.attribution.ism`.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from utils import cores
from utils.cli import progress

GROUP_VARIANTS = 32768      # variants per group of sequences: bounds the reference activations kept
CHUNK = 4096                # variants per compiled call
XLA_FROM = 250_000          # variants from which the job runs the XLA-fused blocks (LocalISM._fused): their
                            # compilation (about 0.6 s more than the plain graph's tracing) pays only on jobs
                            # this large (200 bp, 2 cores: about 420 sequences)


def window_width(layout: dict) -> int:
    """Positions of the last tower layer one mutation can change (before clipping to the length)."""
    kernel_size, pool = layout["conv1"][0].shape[0], layout["pool"]
    q_span = (kernel_size - 1 + pool - 1) // pool + 1
    return q_span + 2 * sum(t[2] for t in layout["tower"])


class LocalISM:
    """fastISM for one suite dilated CNN; ``__call__(x, output)`` gives ISM deltas like attribution.ism."""

    def __init__(self, keras_model, folded):
        """``folded``: the model's :class:`utils.cnn_graph.FoldedForward`, whose weights (batch
        norm folded into each convolution) and head are shared."""
        import tensorflow as tf

        self.tf = tf
        self.folded = folded
        layout = self.layout = folded.layout
        kernel1, _ = layout["conv1"]
        self.kernel_size = kernel1.shape[0]
        self.pool = layout["pool"]
        self.width = layout["width"]
        self.dilations = [t[2] for t in layout["tower"]]
        self.final = layout["final"]
        # pooled positions a mutation can reach after the first conv + pool
        self.halo = sum(self.dilations)            # widening of the window through the tower
        self.q_span = window_width(layout) - 2 * self.halo
        import keras

        first = "proj1" if layout.get("proj") is not None else "drop1"     # the tower's input
        outputs = [keras_model.get_layer(first).output] + \
            [keras_model.get_layer(f"residual{i + 1}").output for i in range(len(self.dilations))]
        self.ref_model = keras.Model(keras_model.inputs, outputs)
        spec = tf.TensorSpec
        self._variants = self._build(fused=False, signature=[
            spec([None, None, 4], tf.float32),       # padded one-hot, flat over sequences: (G, Lp, 4)
            [spec([None, None, None], tf.float32) for _ in range(len(self.dilations) + 1)],
            spec([None, None, None], tf.float32),    # prefix maxima of the last layer (G, W + 1, F)
            spec([None, None, None], tf.float32),    # suffix maxima
            spec([None, None, None], tf.float32),    # prefix sums (maxavg; else unused)
            spec([None, None, None], tf.float32),    # suffix sums
            spec([None], tf.int32), spec([None], tf.int32), spec([None], tf.int32)])
        self._head = tf.function(self._head_logit, input_signature=[spec([None, None], tf.float32)])
        self._fused_fn = None            # built on the first job of XLA_FROM variants or more

    # ------------------------------------------------------------------ compiled parts
    def _fused(self):
        """The XLA-fused variant graph, built on the first job of XLA_FROM variants or more."""
        if self._fused_fn is None:
            self._fused_fn = self._build(fused=True)
        return self._fused_fn

    def _build(self, fused: bool, signature=None):
        """The variants' logits ``(onehot_pad, ref_layers, prefix_max, suffix_max, prefix_sum,
        suffix_sum, seq, pos, base) -> (V,)``: for each variant (seq[v], pos[v] -> base[v]) the
        pooled window [qa, qa + Q) of the first layer, from the bases it needs, then each tower
        layer over the window widened by its dilation with the reference's activations spliced in
        on either side, then the final pooling (the window against the reference's prefix and
        suffix maxima, and sums for maxavg) and the head.

        ``fused``: every elementwise stretch between two convolutions (gathers of the window and
        its reference context, bias, activation, pooling, residual add, edge masks, the final
        pooling and head) is compiled by XLA into one kernel, the convolutions left to oneDNN,
        which runs them faster than XLA on a CPU: about 1.6x the throughput at 200 bp. Each new
        shape recompiles, so the driver pads every chunk and group to one size. Otherwise one
        plain graph over ``signature`` (any shapes)."""
        tf, f = self.tf, self.folded
        K, P, Q, W = self.kernel_size, self.pool, self.q_span, self.width
        dil, margin, maxavg = self.dilations, self.input_margin, self.final == "maxavg"
        jit = (lambda fn: tf.function(fn, jit_compile=True)) if fused else (lambda fn: fn)  # noqa: E731

        def window(pos, layers_done):
            start = tf.math.floordiv(pos - K + 1, P) - sum(dil[:layers_done])
            return start, Q + 2 * sum(dil[:layers_done])

        def with_context(h, ref, seq, start, width, d):
            return tf.concat([self._ref_slice(ref, seq, start - 2 * d, 2 * d), h,
                              self._ref_slice(ref, seq, start + width, 2 * d)], axis=1)

        @jit
        def bases_of(onehot_pad, seq, pos, base):
            qa = tf.math.floordiv(pos - K + 1, P)
            cols = qa[:, None] * P + tf.range(Q * P + K - 1)[None, :] + margin
            bases = tf.gather_nd(onehot_pad, tf.stack([tf.broadcast_to(seq[:, None], tf.shape(cols)), cols], -1))
            return tf.where((pos[:, None] + margin == cols)[:, :, None], tf.one_hot(base, 4)[:, None, :], bases)

        @jit
        def first(conv, ref0, seq, pos):
            h = f.act1(conv + f.b1)
            h = f.project(tf.reduce_max(tf.reshape(h, [tf.shape(seq)[0], Q, P, -1]), axis=2))
            start, width = window(pos, 0)
            return with_context(self._mask(h, start, width, 0.0), ref0, seq, start, width, dil[0])

        def layer(i):
            d, bias = dil[i], f.tower[i][1]

            def block(conv, full, ref_next, seq, pos):
                start, width = window(pos, i + 1)
                h = self._mask(full[:, d:d + width] + tf.nn.relu(conv + bias), start, width, 0.0)
                if i + 1 == len(dil):
                    return h
                return with_context(h, ref_next, seq, start, width, dil[i + 1])
            return jit(block)

        blocks = [layer(i) for i in range(len(dil))]

        @jit
        def last(h, prefix_max, suffix_max, prefix_sum, suffix_sum, seq, pos):
            start, width = window(pos, len(dil))
            lo, hi = tf.clip_by_value(start, 0, W), tf.clip_by_value(start + width, 0, W)
            before, after = tf.stack([seq, lo], -1), tf.stack([seq, hi], -1)
            pooled = tf.maximum(tf.reduce_max(self._mask(h, start, width, -np.inf), axis=1),
                                tf.maximum(tf.gather_nd(prefix_max, before), tf.gather_nd(suffix_max, after)))
            if maxavg:
                total = tf.gather_nd(prefix_sum, before) + tf.reduce_sum(h, axis=1) + tf.gather_nd(suffix_sum, after)
                pooled = tf.concat([pooled, total / W], axis=1)
            return self._head_logit(pooled)

        def variants(onehot_pad, ref_layers, prefix_max, suffix_max, prefix_sum, suffix_sum, seq, pos, base):
            conv = tf.nn.conv1d(bases_of(onehot_pad, seq, pos, base), f.k1, stride=1, padding="VALID")
            full = first(conv, ref_layers[0], seq, pos)
            for i, (kernel, _, d) in enumerate(f.tower):
                conv = tf.nn.conv1d(full, kernel, stride=1, padding="VALID", dilations=d)
                full = blocks[i](conv, full, ref_layers[min(i + 1, len(dil) - 1)], seq, pos)
            return last(full, prefix_max, suffix_max, prefix_sum, suffix_sum, seq, pos)

        return tf.function(variants) if fused else tf.function(variants, input_signature=signature)

    def _head_logit(self, pooled):
        return self.tf.reshape(self.folded.head(pooled), [-1])

    def _mask(self, h, start, width, fill):
        """Positions of the window outside [0, W) take ``fill`` (zero: 'same' padding)."""
        tf = self.tf
        idx = start[:, None] + tf.range(width)[None, :]
        inside = (idx >= 0) & (idx < self.width)
        return tf.where(inside[:, :, None], h, tf.cast(fill, h.dtype))

    def _ref_slice(self, ref, seq, start, width):
        """Reference activations over [start, start + width) per variant; zeros outside [0, W)."""
        tf = self.tf
        idx = start[:, None] + tf.range(width)[None, :] + self.halo_pad
        return tf.gather_nd(ref, tf.stack([tf.broadcast_to(seq[:, None], tf.shape(idx)), idx], -1))

    # ------------------------------------------------------------------ driver
    @property
    def input_margin(self) -> int:
        return self.q_span * self.pool + self.kernel_size

    @property
    def halo_pad(self) -> int:
        return 2 * self.halo + self.q_span + 2

    def reference(self, x: np.ndarray):
        """Per-layer reference activations (zero-padded), prefix/suffix maxima and sums, the logit."""
        acts = [np.asarray(a, dtype=np.float32) for a in self.ref_model.predict_on_batch(x)]
        pad = self.halo_pad
        padded = [np.pad(a, ((0, 0), (pad, pad), (0, 0))) for a in acts]
        last = acts[-1]
        n, W, F = last.shape
        prefix = np.full((n, W + 1, F), -np.inf, np.float32)
        suffix = np.full((n, W + 1, F), -np.inf, np.float32)
        prefix[:, 1:] = np.maximum.accumulate(last, axis=1)              # prefix[:, j]: max over [0, j)
        suffix[:, :W] = np.maximum.accumulate(last[:, ::-1], axis=1)[:, ::-1]   # suffix[:, j]: over [j, W)
        pooled = last.max(axis=1)
        if self.final == "maxavg":
            wide = last.astype(np.float64)
            prefix_sum = np.zeros((n, W + 1, F))
            suffix_sum = np.zeros((n, W + 1, F))
            prefix_sum[:, 1:] = np.cumsum(wide, axis=1)                     # sum over [0, j)
            suffix_sum[:, :W] = np.cumsum(wide[:, ::-1], axis=1)[:, ::-1]   # sum over [j, W)
            sums = (prefix_sum.astype(np.float32), suffix_sum.astype(np.float32))
            pooled = np.concatenate([pooled, wide.mean(axis=1).astype(np.float32)], axis=1)
        else:
            sums = (np.zeros((n, 1, F), np.float32),) * 2
        logit = np.asarray(self._head(pooled), dtype=np.float64)
        return padded, prefix, suffix, sums, logit

    def __call__(self, x: np.ndarray, scale: str, chunk_size: int = CHUNK, quiet: bool = True) -> np.ndarray:
        """ISM deltas (N, L, 4) on the logit (``scale="logit"``), the value of a regression
        (``"value"``) or the probability."""
        n, length, _ = x.shape
        delta = np.zeros((n, length, 4), dtype=np.float32)
        group = max(1, GROUP_VARIANTS // (3 * length))
        starts = range(0, n, group)
        margin = self.input_margin
        fused = int((x == 0).sum()) >= XLA_FROM          # a job large enough to pay XLA's compilation
        variants = self._fused() if fused else self._variants
        # XLA's fused kernels run on one thread each: on more cores the chunks run side by side, two
        # per core, so that one chunk's Python and dispatch overlap another's kernels (200 bp, 2 cores:
        # one at a time 372 seq/s, 2 side by side 440, 4 527, 6 472); a one-thread run stays on one
        workers = 2 * cores.count() if fused and cores.count() > 1 else 1
        with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
            for g in progress(starts, total=len(starts), desc="ism", quiet=quiet, unit="group"):
                xg = x[g:g + group]
                seq, pos, base = (a.astype(np.int32) for a in np.nonzero(xg == 0))
                if fused and len(xg) < group:            # one shape for every group: N rows pad the last
                    xg = np.concatenate([xg, np.zeros((group - len(xg), length, 4), xg.dtype)])
                padded, prefix, suffix, sums, ref_logit = self.reference(xg)
                onehot_pad = np.pad(xg, ((0, 0), (margin, margin), (0, 0)))
                # tensors once per group, not once per chunk
                onehot_pad, prefix, suffix = (self.tf.constant(a) for a in (onehot_pad, prefix, suffix))
                padded, sums = [self.tf.constant(a) for a in padded], [self.tf.constant(a) for a in sums]

                def logits(c, onehot_pad=onehot_pad, padded=padded, prefix=prefix, suffix=suffix, sums=sums,
                           seq=seq, pos=pos, base=base):
                    s, p, b = seq[c:c + chunk_size], pos[c:c + chunk_size], base[c:c + chunk_size]
                    real = len(s)
                    if fused and real < chunk_size:      # one shape for every chunk: repeat its first variant
                        s, p, b = (np.concatenate([a, np.full(chunk_size - real, a[0], np.int32)]) for a in (s, p, b))
                    return np.asarray(variants(onehot_pad, padded, prefix, suffix, *sums, s, p, b), np.float64)[:real]

                offsets = range(0, len(seq), chunk_size)
                for c, logit in zip(offsets, pool.map(logits, offsets) if pool else map(logits, offsets)):
                    s, p, b = seq[c:c + chunk_size], pos[c:c + chunk_size], base[c:c + chunk_size]
                    if scale in ("logit", "value"):      # a value head's "logit" is the value
                        change = logit - ref_logit[s]
                    else:
                        change = _sigmoid(logit) - _sigmoid(ref_logit[s])
                    delta[g + s, p, b] = change
        return delta


def for_predictor(predictor) -> LocalISM | None:
    """The predictor's LocalISM (built once and kept on it), or None when its graph is another."""
    if getattr(predictor, "kind", "") != "cnn" or getattr(predictor, "keras_model", None) is None:
        return None
    cached = getattr(predictor, "_local_ism", False)
    if cached is False:
        folded = getattr(predictor, "folded", None)         # None for graphs other than the suite's
        if folded is not None and window_width(folded.layout) >= folded.layout["width"]:
            folded = None           # a mutation reaches every position: nothing to save
        if folded is not None and folded.layout["final"] == "positions":
            folded = None           # the head reads every position: the generic ISM (through the folded graph)
        cached = None if folded is None else LocalISM(predictor.keras_model, folded)
        predictor._local_ism = cached
    return cached


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))

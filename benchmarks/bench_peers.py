#!/usr/bin/env python3
"""The suite beside its peers on the same weights: ISM and DeepSHAP against tangermeme, SQUID.

For each sequence length (200 and 1,000 bp by default) this generates a small presence set
(Generate_sequences.main), trains the suite's default CNN on it for a few epochs
(Train_models.main), and rebuilds that CNN in PyTorch layer by layer with the same weights
(:class:`TorchCNN`, from :func:`utils.cnn_graph.tower_layout`: batch normalization folded
into each tower convolution, dropout left out as at inference). The logits of the two must
agree within 1e-5. Then, on the same sequences:

- ISM: :func:`utils.attribution.ism` (the suite's fastISM, :mod:`utils.fast_ism`) against
  tangermeme's ``saturation_mutagenesis`` with ``fast=True`` and ``fast=False``. The suite
  returns ``A[i, j, b]`` = logit with base b at position j minus the sequence's own logit
  (0 at the observed base); tangermeme with ``hypothetical=True`` returns the same change
  minus its mean over the four bases at each position. The suite's map is centred the same
  way and the two must agree within 1e-4. tangermeme's ``fast=True`` tries its fastISM
  only for a job that ``fast=False`` would take more than 30 s on (its
  ``_FAST_MIN_SECONDS``), and falls back to ``fast=False`` with a warning when capture, its
  check against ``fast=False`` or its timing on one batch fails. ``--tangermeme_min_seconds``
  (default 0) sets that threshold, so that ``fast=True`` makes its attempt on this
  benchmark's smaller jobs as it would on a large one; the path it took is printed.
- DeepSHAP: :func:`utils.attribution.deep_shap` (shap's DeepExplainer on the Keras graph)
  against tangermeme's ``deep_lift_shap`` on the same references (the suite's
  ``reference="dist"`` draws, given to tangermeme as a tensor for every sequence).
  Both sum over a position's four channels to the same quantity (mean over references of
  the multipliers times input minus reference), so the per-position sums are compared:
  Pearson r, max |difference|, and each one's additivity error.
- SQUID: :func:`utils.attribution.squid` (squid-nn's random-mutagenesis library scored by
  the model, then its additive ridge surrogate), seconds per sequence against ISM's.

Every tool is called once on two sequences before it is timed (graph tracing, shap's
set-up), then timed on the whole call (``--repeats`` interleaved rounds, the fastest kept). Ratios print as ``N.Nx``. Targets (issue 23): the
suite's ISM at least 4.5x tangermeme's (``fast=True``) at 200 bp and 5.5x at 1,000 bp;
the suite's DeepSHAP no slower than tangermeme's on the same references.

Needs torch and tangermeme (requirements-peers.txt): ``make bench-peers`` builds
``.venv-peers`` and runs this; or ``.venv-peers/bin/python -m benchmarks.bench_peers``
from the repository's root. Exits 1 when the logits or the ISM values disagree.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from utils import attribution, fast_ism
from utils.cnn_graph import tower_layout
from utils.encoding import one_hot
from utils.folders import load_dataset

LOGIT_TOLERANCE = 1e-5
ISM_TOLERANCE = 1e-4
ISM_TARGETS = {200: 4.5, 1000: 5.5}      # suite ISM / tangermeme fast=True, seq/s (issue 23)
WARM = 2                                 # sequences of each tool's untimed first call


# ----------------------------------------------------------------------------- the CNN in PyTorch
def torch_cnn(layout: dict):
    """The suite's dilated CNN as a torch.nn.Module over (N, 4, L) -> (N, 1) logits.

    ``layout``: :func:`utils.cnn_graph.tower_layout` of the trained Keras model. Every
    non-linear step is its own module (ReLU, MaxPool1d) so that tangermeme's DeepLIFT hooks
    find them; the residual additions, the average pool and the folded batch normalization
    are linear.
    """
    import torch
    from torch import nn

    if layout["final"] not in ("max", "maxavg"):
        raise SystemExit(f"bench_peers rebuilds final pools max and maxavg, not {layout['final']!r}")

    def conv(kernel, bias, dilation=1, padding=0):
        k = kernel.shape[0]
        layer = nn.Conv1d(kernel.shape[1], kernel.shape[2], k, dilation=dilation, padding=padding)
        with torch.no_grad():     # Keras (K, in, out) -> torch (out, in, K); both cross-correlate
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 1, 0))))
            layer.bias.copy_(torch.from_numpy(bias))
        return layer

    def dense(w, b):
        layer = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            layer.bias.copy_(torch.from_numpy(b))
        return layer

    class Exp(nn.Module):          # the exponential first activation (Koo & Ploenzke), its own module
        def forward(self, h):
            return torch.exp(h)

    def first_activation(name):
        return Exp() if name == "exponential" else nn.ReLU()

    split = layout.get("act1_filters")   # a mixed first layer: the channels past split are exponential

    class TorchCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = conv(*layout["conv1"])     # batch norm folded in (tower_layout)
            self.relu1 = first_activation(layout.get("act1", "relu"))
            self.exp1_mixed = Exp() if split else None
            self.pool1 = nn.MaxPool1d(layout["pool"], layout["pool"])
            proj = layout.get("proj")          # --tower_filters: a 1x1 convolution to the tower's width
            self.proj1 = None if proj is None else conv(proj[0][None], proj[1])
            # "same" padding of a kernel-3 convolution with dilation d: d each side; batch
            # normalization at inference folded in (the affine after the convolution)
            self.tower = nn.ModuleList(conv(k * sc, b * sc + sh, dilation=d, padding=d)
                                       for k, b, d, sc, sh in layout["tower"])
            self.tower_relu = nn.ModuleList(nn.ReLU() for _ in layout["tower"])
            width = layout["width"]
            self.pool_max = nn.MaxPool1d(width)
            self.pool_avg = nn.AvgPool1d(width) if layout["final"] == "maxavg" else None
            self.dense = dense(*layout["dense"])
            self.relu_dense = nn.ReLU()
            self.logit = dense(*layout["logit"])

        def forward(self, x):
            h = self.conv1(x)
            if self.exp1_mixed is None:
                h = self.relu1(h)
            else:                       # Keras' act1_concat: the --first_activation channels, then exp()
                h = torch.cat([self.relu1(h[:, :split]), self.exp1_mixed(h[:, split:])], dim=1)
            h = self.pool1(h)
            if self.proj1 is not None:
                h = self.proj1(h)
            for layer, relu in zip(self.tower, self.tower_relu):
                h = h + relu(layer(h))
            pooled = self.pool_max(h).flatten(1)
            if self.pool_avg is not None:       # Keras' Concatenate([flat_max, flat_avg])
                pooled = torch.cat([pooled, self.pool_avg(h).flatten(1)], dim=1)
            return self.logit(self.relu_dense(self.dense(pooled)))

    return TorchCNN().eval()


def exp_rule(model) -> dict | None:
    """tangermeme's DeepLIFT rescale rule (``_nonlinear``, its rule for ReLU) for the exponential
    first activation's module, which it does not know, as shap's DeepExplainer rescales Exp."""
    from tangermeme.deep_lift_shap import _nonlinear

    kinds = {type(m) for m in model.modules() if type(m).__name__ == "Exp"}
    return {kind: _nonlinear for kind in kinds} or None


def to_torch(x: np.ndarray):
    """(N, L, 4) float32 one-hot -> (N, 4, L) torch tensor (tangermeme's layout)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))


def torch_logits(model, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate([model(to_torch(x[i:i + batch])).numpy().reshape(-1)
                               for i in range(0, len(x), batch)]).astype(np.float64)


# ----------------------------------------------------------------------------- helpers
def run_quietly(main, argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code:
        raise SystemExit(f"{main.__module__} {' '.join(argv)} exited with {code}")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "inf"


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def model_and_sequences(tmp: Path, length: int, num_seqs: int, epochs: int, seed: int):
    """A presence set of ``num_seqs`` x ``length`` bp and the default CNN trained on it."""
    import Generate_sequences
    import Train_models

    data_dir, model_root = tmp / f"data_{length}", tmp / f"models_{length}"
    run_quietly(Generate_sequences.main, ["--num_seqs", str(num_seqs), "--seq_length", str(length),
                                          "--seed", str(seed), "--out_dir", str(data_dir), "--quiet"])
    run_quietly(Train_models.main, ["--data_file", str(data_dir), "--model_type", "cnn", "--epochs", str(epochs),
                                    "--seed", str(seed), "--out_dir", str(model_root), "--quiet"])
    data = load_dataset(data_dir, need_sites=False)
    return model_root / "cnn", one_hot(list(data.seqs))


def tile(x: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` sequences of ``x`` (repeated when ``x`` has fewer)."""
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n] if reps > 1 else x[:n]


# ----------------------------------------------------------------------------- tangermeme calls
def tangermeme_ism(model, x: np.ndarray, fast: bool, batch: int, min_seconds: float | None = None):
    """tangermeme's saturation_mutagenesis (hypothetical, centred per position) -> (N, L, 4),
    and the path it took: 'fastISM', 'fast=False' or the fallback reason."""
    import tangermeme.saturation_mutagenesis  # noqa: F401  (the module, for its _fast_path)
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    module = sys.modules["tangermeme.saturation_mutagenesis"]
    chosen = {"path": "fast=False"}
    original = module._fast_path

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        if out[0] is not None:
            chosen["path"] = "fastISM"
        elif chosen["path"] == "fast=False":
            chosen["path"] = f"fast=False (job under {module._FAST_MIN_SECONDS:.0f} s at fast=False)"
        return out

    module._fast_path = recording
    shipped = module._FAST_MIN_SECONDS
    if min_seconds is not None:
        module._FAST_MIN_SECONDS = float(min_seconds)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            attr = saturation_mutagenesis(model, to_torch(x), batch_size=batch, hypothetical=True,
                                          fast=fast, device="cpu")
        for w in caught:
            if "fast=False because" in str(w.message):
                chosen["path"] = "fast=False: " + str(w.message).split("because ", 1)[1].split(". Pass")[0]
    finally:
        module._fast_path = original
        module._FAST_MIN_SECONDS = shipped
    return attr.numpy().transpose(0, 2, 1).astype(np.float32), chosen["path"]


def tangermeme_deep(model, x: np.ndarray, references: np.ndarray, batch: int) -> np.ndarray:
    """tangermeme's deep_lift_shap on the logit with the same references for every sequence -> (N, L, 4)."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    refs = to_torch(references)[None].expand(len(x), *to_torch(references).shape).contiguous()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attr = deep_lift_shap(model, to_torch(x), references=refs, target=0, batch_size=batch,
                              device="cpu", warning_threshold=1e9, additional_nonlinear_ops=exp_rule(model))
    return attr.numpy().transpose(0, 2, 1).astype(np.float32)


# ----------------------------------------------------------------------------- one length
def bench_length(length: int, args, tmp: Path) -> dict:
    from utils import models

    train_seqs = args.train_seqs_200 if length <= 200 else args.train_seqs_long
    t0 = time.perf_counter()
    model_dir, pool = model_and_sequences(tmp, length, train_seqs, args.epochs, args.seed)
    t_train = time.perf_counter() - t0
    predictor = models.load(model_dir)
    layout = tower_layout(predictor.keras_model)
    if layout is None:
        raise SystemExit(f"{model_dir}: not the suite's dilated CNN")
    net = torch_cnn(layout)
    n_ism = args.ism_seqs_200 if length <= 200 else args.ism_seqs_long
    n_deep = args.deep_seqs_200 if length <= 200 else args.deep_seqs_long
    n_squid = args.squid_seqs
    x = tile(pool, max(n_ism, n_deep, n_squid, WARM))
    print(f"\n== {length} bp: default CNN ({len(layout['tower'])} dilated layers, final pool "
          f"{layout['final']}), trained {args.epochs} epochs on {train_seqs} sequences in {t_train:.0f} s", flush=True)

    # the same weights: logits
    probe = x[:min(len(x), 512)]
    keras_logit = np.asarray(predictor.logit_model.predict(probe, verbose=0), np.float64).reshape(-1)
    suite_logit = np.asarray(predictor.predict_logit(probe), np.float64).reshape(-1)
    torch_logit = torch_logits(net, probe)
    logit_diff = float(max(np.abs(torch_logit - keras_logit).max(), np.abs(torch_logit - suite_logit).max()))
    print(f"logits, {len(probe)} sequences: max |torch - keras| = {logit_diff:.2g} "
          f"({'within' if logit_diff <= LOGIT_TOLERANCE else 'OUTSIDE'} {LOGIT_TOLERANCE:g})", flush=True)

    # ISM
    xi = x[:n_ism]
    attribution.ism(predictor, x[:WARM])
    tangermeme_ism(net, x[:WARM], False, args.tangermeme_batch)
    t_suite = t_slow = t_fast = float("inf")
    for _ in range(args.repeats):           # interleaved rounds, the fastest of each kept
        suite_ism, t = timed(attribution.ism, predictor, xi)
        t_suite = min(t_suite, t)
        (tg_slow, _), t = timed(tangermeme_ism, net, xi, False, args.tangermeme_batch)
        t_slow = min(t_slow, t)
        (tg_fast, fast_path), t = timed(tangermeme_ism, net, xi, True, args.tangermeme_batch,
                                        args.tangermeme_min_seconds)
        t_fast = min(t_fast, t)
    path = "fastISM (utils.fast_ism)" if fast_ism.for_predictor(predictor) is not None else "whole model"
    centred = suite_ism - suite_ism.mean(axis=-1, keepdims=True)
    ism_diff = float(max(np.abs(centred - tg_slow).max(), np.abs(centred - tg_fast).max()))
    rates = {"suite": n_ism / t_suite, "fast": n_ism / t_fast, "slow": n_ism / t_slow}

    # DeepSHAP on the same references
    xd = x[:n_deep]
    refs = attribution.background_sequences(args.deep_refs, length, None, args.seed)
    attribution.deep_shap(predictor, x[:WARM], reference="dist", num_background=args.deep_refs, seed=args.seed)
    tangermeme_deep(net, x[:WARM], refs, args.tangermeme_batch)
    t_sdeep = t_tdeep = float("inf")
    for _ in range(args.repeats):
        suite_deep, t = timed(attribution.deep_shap, predictor, xd, reference="dist", num_background=args.deep_refs,
                              seed=args.seed)
        t_sdeep = min(t_sdeep, t)
        tg_deep, t = timed(tangermeme_deep, net, xd, refs, args.tangermeme_batch)
        t_tdeep = min(t_tdeep, t)
    per_pos_suite, per_pos_tg = suite_deep.sum(-1), tg_deep.sum(-1)
    target_delta = torch_logits(net, xd) - torch_logits(net, refs).mean()
    additivity = (float(np.abs(per_pos_suite.sum(-1) - target_delta).max()),
                  float(np.abs(per_pos_tg.sum(-1) - target_delta).max()))

    # SQUID: library + surrogate per sequence
    xs = x[:n_squid]
    with warnings.catch_warnings():      # scikit-learn's RidgeCV on the singular one-hot design
        warnings.filterwarnings("ignore", message=r".*Singular matrix.*")
        attribution.squid(predictor, x[:1])
        squid_maps, t_squid = timed(attribution.squid, predictor, xs, seed=args.seed)
    squid_r = pearson(squid_maps, centred[:n_squid]) if n_squid <= n_ism else float("nan")

    r = {
        "length": length, "n_ism": n_ism, "n_deep": n_deep, "n_squid": n_squid,
        "logit_diff": logit_diff, "ism_diff": ism_diff, "rates": rates, "fast_path": fast_path,
        "suite_path": path, "t_sdeep": t_sdeep, "t_tdeep": t_tdeep,
        "deep_r": pearson(per_pos_suite, per_pos_tg), "deep_max": float(np.abs(per_pos_suite - per_pos_tg).max()),
        "deep_scale": float(np.abs(per_pos_suite).max()), "additivity": additivity,
        "squid_per_seq": t_squid / n_squid, "ism_per_seq": t_suite / n_ism, "squid_r": squid_r,
    }
    print(f"ISM, {n_ism} sequences: suite {rates['suite']:.1f} seq/s ({path}); tangermeme fast=True "
          f"{rates['fast']:.1f} seq/s (took {fast_path}), fast=False {rates['slow']:.1f} seq/s; "
          f"max |suite - tangermeme| = {ism_diff:.2g} "
          f"({'within' if ism_diff <= ISM_TOLERANCE else 'OUTSIDE'} {ISM_TOLERANCE:g})", flush=True)
    print(f"DeepSHAP, {n_deep} sequences x {args.deep_refs} references: suite {t_sdeep:.2f} s, "
          f"tangermeme {t_tdeep:.2f} s; per-position r = {r['deep_r']:.6f}, max |diff| = {r['deep_max']:.2g} "
          f"(largest |value| {r['deep_scale']:.2g}); additivity error suite {additivity[0]:.2g}, "
          f"tangermeme {additivity[1]:.2g}", flush=True)
    print(f"SQUID, {n_squid} sequences: {r['squid_per_seq']:.3f} s per sequence against ISM's "
          f"{r['ism_per_seq'] * 1000:.1f} ms; r(SQUID, centred ISM) = {squid_r:.3f}", flush=True)
    return r


def table(results: list[dict], args) -> None:
    print("\nside by side (seconds of each whole call after one warm-up call; ratios as suite : peer)")
    print(f"{'bp':>5} | {'ISM suite':>10} {'tm fast=True':>12} {'tm fast=False':>13} | {'vs fast=True':>12} "
          f"{'vs fast=False':>13} {'target':>7} | {'DeepSHAP suite':>14} {'tm':>8} {'tm/suite':>8} {'r':>9} | "
          f"{'SQUID s/seq':>11} {'SQUID/ISM':>10}")
    for r in results:
        rt = r["rates"]
        target = ISM_TARGETS.get(r["length"])
        met = "" if target is None else (f"{target:.1f}x " + ("met" if rt["suite"] / rt["fast"] >= target else "MISSED"))
        print(f"{r['length']:>5} | {rt['suite']:>7.1f}/s {rt['fast']:>10.1f}/s {rt['slow']:>11.1f}/s | "
              f"{ratio(rt['suite'], rt['fast']):>12} {ratio(rt['suite'], rt['slow']):>13} {met:>7} | "
              f"{r['t_sdeep']:>12.2f} s {r['t_tdeep']:>6.2f} s {ratio(r['t_tdeep'], r['t_sdeep']):>8} "
              f"{r['deep_r']:>9.6f} | {r['squid_per_seq']:>9.3f} s "
              f"{ratio(r['squid_per_seq'], r['ism_per_seq']):>10}")
    for r in results:
        slower = r["t_sdeep"] > r["t_tdeep"]
        print(f"{r['length']} bp: DeepSHAP target (suite no slower than tangermeme): "
              f"{'MISSED' if slower else 'met'} ({ratio(r['t_tdeep'], r['t_sdeep'])})")
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tf = attribution.quiet_import_tensorflow()
    tf_threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    print(f"rounds {args.repeats}; threads: torch {torch.get_num_threads()}, TensorFlow {tf_threads}, cores {os.cpu_count()}, load average {load:.1f} at the end; "
          f"tangermeme batch_size {args.tangermeme_batch}, fast=True attempted from "
          f"{args.tangermeme_min_seconds:g} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[200, 1000], help="sequence lengths (bp)")
    ap.add_argument("--train_seqs_200", type=int, default=2000, help="generated and trained on, at 200 bp or less")
    ap.add_argument("--train_seqs_long", type=int, default=600, help="generated and trained on, past 200 bp")
    ap.add_argument("--epochs", type=int, default=3, help="training epochs of each CNN")
    ap.add_argument("--ism_seqs_200", type=int, default=512, help="ISM sequences at 200 bp or less")
    ap.add_argument("--ism_seqs_long", type=int, default=32, help="ISM sequences past 200 bp")
    ap.add_argument("--deep_seqs_200", type=int, default=64, help="DeepSHAP sequences at 200 bp or less")
    ap.add_argument("--deep_seqs_long", type=int, default=16, help="DeepSHAP sequences past 200 bp")
    ap.add_argument("--deep_refs", type=int, default=attribution.DEEP_BACKGROUND, help="DeepSHAP references")
    ap.add_argument("--squid_seqs", type=int, default=3, help="SQUID sequences")
    ap.add_argument("--tangermeme_batch", type=int, default=256, help="tangermeme's batch_size")
    ap.add_argument("--tangermeme_min_seconds", type=float, default=0.0,
                    help="seconds of fast=False below which tangermeme's fast=True does not try fastISM "
                         "(tangermeme ships 30)")
    ap.add_argument("--torch_threads", type=int, default=0, help="torch's threads (0: torch's own default)")
    ap.add_argument("--tf_threads", type=int, default=0,
                    help="TensorFlow's intra- and inter-op threads (0: TensorFlow's own default)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="timed rounds of the ISM and DeepSHAP calls, interleaved; the fastest of each is kept")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        import tangermeme  # noqa: F401
        import torch
    except ImportError as e:
        print(f"bench_peers needs torch and tangermeme ({e}); run `make bench-peers`, which installs "
              f"requirements-peers.txt into .venv-peers", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    if args.tf_threads > 0:             # the suite's own cap (Interpret_models.py --threads), before TensorFlow runs
        from utils import cores         # its first op: TensorFlow's pools, BLAS and fast ISM's side-by-side chunks

        cores.limit(args.tf_threads)
        attribution.quiet_import_tensorflow()
    if args.torch_threads > 0:          # after the cap, which reaches OpenMP pools torch may share
        torch.set_num_threads(args.torch_threads)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_length(length, args, Path(tmp)) for length in args.lengths]
    table(results, args)
    print(f"total {time.perf_counter() - start:.0f} s")
    bad = [r["length"] for r in results if r["logit_diff"] > LOGIT_TOLERANCE or r["ism_diff"] > ISM_TOLERANCE]
    if bad:
        print(f"the suite and the PyTorch copy disagree at {bad} bp (logits > {LOGIT_TOLERANCE:g} "
              f"or ISM > {ISM_TOLERANCE:g})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

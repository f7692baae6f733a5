#!/usr/bin/env python3
"""Attribution speed on the default CNN: batched ISM against naive ISM, KernelSHAP, DeepSHAP.

Uses models/cnn with data/generated when both exist; otherwise generates default data
and trains the default CNN (Generate_sequences.main, Train_models.main) in a temporary
folder. Prints sequences per second for
- ISM through utils.attribution.ism (variants of many sequences pooled into chunks; on
  the suite's dilated CNN only the window each mutation reaches is recomputed,
  utils.fast_ism),
- the same variants batched through the whole model (``local_ok=False``),
- ISM done naively (one ``model.predict`` per sequence on its 3L variants),
- KernelSHAP and DeepSHAP with the library defaults,
the ratio batched / naive for ISM, and the localization auROC of each method on the
positive test sequences.

Targets: batched ISM at least 10x naive; 1,000 sequences of 200 bp through ISM in
under 15 s on 2 cores.

Run from the repository's root: ``python -m benchmarks.bench_attribution``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import numpy as np

from utils import attribution, fast_ism
from utils.encoding import one_hot
from utils.localization import localization_scores, site_mask, summarize_localization
from utils.folders import load_dataset
from utils.io import read_tsv

ISM_TARGET_SECONDS = 15.0     # for 1,000 sequences of 200 bp
ISM_TARGET_RATIO = 10.0


def run_quietly(main, argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code:
        raise SystemExit(f"{main.__module__} {' '.join(argv)} exited with {code}")


def model_and_data(model_dir: Path, data_dir: Path, tmp: Path, epochs: int | None) -> tuple[Path, Path]:
    """The model and data folders to use: the defaults if present, else fresh ones in ``tmp``."""
    if (model_dir / "model.json").exists() and (data_dir / "sequences.fa").exists():
        return model_dir, data_dir
    import Generate_sequences
    import Train_models

    print(f"no {model_dir} with {data_dir}: generating default data and training the default CNN "
          f"in {tmp}", flush=True)
    data_dir = tmp / "data"
    run_quietly(Generate_sequences.main, ["--out_dir", str(data_dir), "--quiet"])
    argv = ["--data_file", str(data_dir), "--model_type", "cnn", "--out_dir", str(tmp / "models"), "--quiet"]
    if epochs:
        argv += ["--epochs", str(epochs)]
    run_quietly(Train_models.main, argv)
    return tmp / "models" / "cnn", data_dir


def model_with_test_split(args, tmp: Path):
    """(model folder, predictor, data set, ids of the model's test split) from ``args.model_dir``,
    ``args.data_dir`` and ``args.epochs`` (:func:`model_and_data`)."""
    from utils import models

    model_dir, data_dir = model_and_data(args.model_dir, args.data_dir, tmp, args.epochs)
    split = read_tsv(model_dir / "split.tsv", ["id", "split"])
    test = {i for i, s in zip(split["id"], split["split"]) if s == "test"}
    return model_dir, models.load(model_dir), load_dataset(data_dir, need_sites=True), test


def naive_ism(keras_model, onehot: np.ndarray) -> np.ndarray:
    """The textbook loop: for each sequence, build its 3L variants and call model.predict once."""
    n, length, _ = onehot.shape
    out = np.zeros_like(onehot)
    for i in range(n):
        ref = keras_model.predict(onehot[i:i + 1], verbose=0).reshape(-1)[0]
        pos, base = np.nonzero(onehot[i] == 0)
        variants = np.repeat(onehot[i:i + 1], len(pos), axis=0)
        variants[np.arange(len(pos)), pos, :] = 0
        variants[np.arange(len(pos)), pos, base] = 1
        out[i, pos, base] = keras_model.predict(variants, verbose=0).reshape(-1) - ref
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model_dir", type=Path, default=ROOT / "models" / "cnn")
    ap.add_argument("--data_dir", type=Path, default=ROOT / "data" / "generated")
    ap.add_argument("--ism_seqs", type=int, default=1000, help="sequences through batched ISM")
    ap.add_argument("--naive_seqs", type=int, default=20, help="sequences through naive ISM")
    ap.add_argument("--kernel_seqs", type=int, default=10, help="sequences through KernelSHAP")
    ap.add_argument("--deep_seqs", type=int, default=200, help="sequences through DeepSHAP")
    ap.add_argument("--epochs", type=int, default=None, help="epochs if a CNN must be trained")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir, predictor, data, test = model_with_test_split(args, Path(tmp))
        data_dir = data.directory
        order = [k for k, i in enumerate(data.ids) if i in test]
        order += [k for k, i in enumerate(data.ids) if i not in test]      # pad with others if needed
        order = np.asarray(order)[attribution.pick_attribution_seqs(data.labels[order], args.ism_seqs)]
        ids = [data.ids[k] for k in order]
        labels = data.labels[order]
        x = one_hot([data.seqs[k] for k in order])
        n, length, _ = x.shape
        print(f"model {model_dir} ({predictor.kind}, {length} bp), data {data_dir}; "
              f"{n} sequences ({int(labels.sum())} positive)", flush=True)

        attribution.ism(predictor, x[:8])                                   # warm-up: trace the graphs
        attribution.ism(predictor, x[:8], local_ok=False)
        probe = np.repeat(x[:1], 4096, axis=0)
        _, t_forward = timed(predictor.predict_logit, probe)
        forward_rate = len(probe) / t_forward                               # the floor: ISM = 3L passes
        batched, t_batched = timed(attribution.ism, predictor, x)
        whole, t_whole = timed(attribution.ism, predictor, x, local_ok=False)
        m = min(args.naive_seqs, n)
        naive, t_naive = timed(naive_ism, predictor.logit_model, x[:m])
        agree = float(np.abs(naive - batched[:m]).max())
        agree_whole = float(np.abs(whole - batched).max())
        kernel, t_kernel = timed(attribution.kernel_shap, predictor, x[:args.kernel_seqs],
                                 background_dist=data.background)
        deep, t_deep = timed(attribution.deep_shap, predictor, x[:args.deep_seqs],
                             background_dist=data.background)

        rate_batched, rate_naive = n / t_batched, m / t_naive
        per_1000 = 1000 / rate_batched
        print(f"\n{'method':22} {'seqs':>5} {'seconds':>8} {'seqs/s':>9}")
        local = "local window" if fast_ism.for_predictor(predictor) is not None else "whole model"
        for name, count, seconds in (("ISM batched", n, t_batched), ("ISM whole-model batched", n, t_whole),
                                     ("ISM naive", m, t_naive),
                                     ("KernelSHAP", len(kernel), t_kernel),
                                     ("DeepSHAP", len(deep), t_deep)):
            print(f"{name:22} {count:>5} {seconds:>8.2f} {count / seconds:>9.1f}")
        print(f"\nforward passes: {forward_rate:.0f} per s through predict_logit, so ISM through the whole "
              f"model cannot beat {forward_rate / (3 * length):.1f} sequences per s ({3 * length} variants each); "
              f"utils.attribution.ism took the {local} path")
        print(f"ISM batched / naive: {rate_batched / rate_naive:.1f}x "
              f"(target >= {ISM_TARGET_RATIO:.0f}x: {'met' if rate_batched / rate_naive >= ISM_TARGET_RATIO else 'MISSED'}); "
              f"max |batched - naive| = {agree:.2g}, |batched - whole-model| = {agree_whole:.2g}")
        print(f"ISM, 1,000 x {length} bp: {per_1000:.1f} s "
              f"(target < {ISM_TARGET_SECONDS:.0f} s: {'met' if per_1000 < ISM_TARGET_SECONDS else 'MISSED'})")

        pos_motifs = list(data.rule.pos_motifs)
        print(f"\nlocalization on positive sequences (truth: planted {', '.join(pos_motifs)})")
        for name, maps in (("ism", batched), ("kernel_shap", kernel), ("deep_shap", deep)):
            keep = labels[:len(maps)] == 1
            pos_ids = [i for i, k in zip(ids, keep) if k]
            scores = localization_scores(maps[keep], site_mask(pos_ids, data.sites, pos_motifs, length))
            s = summarize_localization(scores["auroc"], scores["auprc"])
            print(f"  {name:12} n={s['n']:>4}  auROC {s['auroc_mean']:.3f} ± {s['auroc_sd']:.3f}  "
                  f"auPRC {s['auprc_mean']:.3f} ± {s['auprc_sd']:.3f}")


if __name__ == "__main__":
    main()

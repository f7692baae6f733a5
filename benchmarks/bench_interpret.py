#!/usr/bin/env python3
"""Cost of the perturbation battery on top of the model calls it makes, in one run.

Runs the full test battery (ablation, insertion, swap, re-spacing with its 1-bp edge
refinement, controls) on 500 test sequences with --num_perturbs 10 through the default
CNN, recording every batch the battery sends to the model. Then replays exactly those
batches through the predictor alone. Prints model calls per second for both and the
overhead of the experiment code as a ratio. Target: overhead under 25%.

Uses models/cnn and data/generated when present (make demo makes them); otherwise it
generates the default data and trains the default CNN in a temporary folder. Then replays
the same batches through the same CNN exported to ONNX (onnxruntime on CPU): model calls per
second of the ONNX path next to the Keras path.

Run from the repository's root: ``python -m benchmarks.bench_interpret``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import numpy as np

from utils import interpretation, models, perturb
from utils.encoding import one_hot


class Recorder:
    """Passes batches to the predictor and keeps them for the replay."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.batches = []
        self.seconds = 0.0

    def predict(self, onehot):
        self.batches.append(onehot)
        start = time.perf_counter()
        out = self.predictor.predict(onehot)
        self.seconds += time.perf_counter() - start
        return out


def model_folder(tmp: Path, wanted: str | None) -> Path:
    if wanted:
        return Path(wanted)
    if (ROOT / "models" / "cnn" / "model.json").exists():
        return ROOT / "models" / "cnn"
    import Generate_sequences
    import Train_models
    Generate_sequences.main(["--out_dir", str(tmp / "data"), "--quiet"])
    Train_models.main(["--data_file", str(tmp / "data"), "--out_dir", str(tmp / "models"), "--quiet"])
    return tmp / "models" / "cnn"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=500)
    ap.add_argument("--num_perturbs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each; the best is reported")
    ap.add_argument("--model", default=None, help="model folder (default models/cnn, trained if missing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = model_folder(Path(tmp), args.model)
        loaded = interpretation.load_model(folder)
        predictor = loaded.predictor
        data = interpretation.load_sequences(None, model_path=loaded.path, model_meta=loaded.meta)
        rule = data.rule
        test = list(loaded.test_ids)[:args.num_seqs]
        index = {sid: k for k, sid in enumerate(data.ids)}
        x = one_hot([data.seqs[index[i]] for i in test])
        y = data.labels[[index[i] for i in test]]
        sites = [data.sites.get(i, []) for i in test]
        motifs = [data.library[m] for m in rule.motifs]
        plan = perturb.plan_experiments(rule, motifs)
        predictor.predict(x[:64])                       # warm up the compiled graph
        totals, replays, inside = [], [], []
        for _ in range(args.repeats):   # interleaved, best of each: the machine is shared and noisy
            rec = Recorder(predictor)
            start = time.perf_counter()
            perturb.run_battery(rec, x, y, sites, plan, motifs, data.background, args.num_perturbs,
                                args.num_seqs, seed=0, sampling=data.sampling)
            totals.append(time.perf_counter() - start)
            inside.append(rec.seconds)
            batches = [np.array(b) for b in rec.batches]   # (the battery reuses buffers: copy now)
            start = time.perf_counter()
            for b in batches:
                predictor.predict(b)
            replays.append(time.perf_counter() - start)
        total, model_only, in_battery = min(totals), min(replays), min(inside)
        calls = sum(len(b) for b in rec.batches)
    print(f"data: {rule.kind} ({rule.describe()}); {len(test)} test sequences, "
          f"--num_perturbs {args.num_perturbs}, {len(rec.batches)} batches; best of {args.repeats} runs")
    print(f"{'':34} {'seconds':>8} {'model calls/s':>14}")
    print(f"{'battery (experiments + model)':34} {total:8.2f} {calls / total:14,.0f}")
    print(f"{'same batches, predictor alone':34} {model_only:8.2f} {calls / model_only:14,.0f}")
    print(f"{'  (model time inside the battery)':34} {in_battery:8.2f} {calls / in_battery:14,.0f}")
    print(f"overhead of the experiment code: {total / model_only - 1:+.1%} (target < 25%) "
          f"over {calls:,} model calls")
    print(f"ONNX path, the same model exported with Keras' ONNX export (tf2onnx), the same batches: "
          f"{onnx_rate(predictor, batches, args.repeats):,.0f} model calls/s (Keras: {calls / model_only:,.0f})")


def onnx_rate(predictor, batches, repeats: int) -> float:
    """Model calls per second of the same CNN run from an .onnx file through onnxruntime."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnn.onnx"
        predictor.keras_model.export(str(path), format="onnx", verbose=False)
        onnx = models.load_file(path, input_length=predictor.input_length)
        onnx.predict(batches[0][:64])
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for b in batches:
                onnx.predict(b)
            best = min(best, time.perf_counter() - start)
    return sum(len(b) for b in batches) / best


if __name__ == "__main__":
    main()

"""What Interpret_models.py works on, resolved and cross-checked before any experiment runs.

:func:`resolve_inputs` loads the model, its data folder and its test split, checks that they
belong together (sequence length, ids, the data checksum recorded at training), picks the
motifs and the background distribution, and returns one :class:`InterpretationInputs`.
Every problem found is an :class:`utils.io.InputError`, raised before any work or output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from utils import attribution, io as dio, perturb
from utils.motifs import Motif


@dataclass
class InterpretationInputs:
    predictor: object
    model_dir: Path
    data: dio.Dataset
    test_ids: list[str]
    test_rows: list[int]             # row of each test id in ``data``
    motifs: list[Motif]
    background: np.ndarray           # (4,) base distribution perturbations resample from
    out_dir: Path
    methods: list[str]
    notes: list[str] = field(default_factory=list)      # skipped attribution methods
    warnings: list[str] = field(default_factory=list)   # for stderr, one line each


def data_checksum(folder: Path) -> str:
    """The checksum Train_models.py records in model.json for its data folder."""
    return dio.checksum_files([Path(folder) / name for name in dio.DATA_FILES])


def resolve_inputs(model: str, seq_dict: str | None = None, preds: str | None = None,
                   motif_names: list[str] | None = None, background_dist=None, tests=None,
                   min_effect: float = 0.05, methods=None, out_dir: str | None = None,
                   overwrite: bool = False) -> InterpretationInputs:
    """Load and cross-check model, data and predictions (the flags of Interpret_models.py)."""
    from utils import models

    model_dir = Path(model)
    predictor = models.load(model_dir)
    model_meta = dio.read_json(model_dir / models.MODEL_JSON)
    recorded = model_meta.get("data") or {}
    data_dir = seq_dict or recorded.get("path")
    if not data_dir:
        raise dio.InputError(f"{model_dir}/model.json names no data folder; pass --seq_dict DIR")
    data = dio.load_dataset(data_dir, need_sites=True)
    warnings = []
    if recorded.get("sha256") and data_checksum(data.directory) != recorded["sha256"]:
        if seq_dict is None:
            raise dio.InputError(f"the data folder {data.directory} named in {model_dir}/model.json has "
                                 f"changed since the model was trained (checksum differs); retrain the "
                                 f"model or pass the data it was trained on with --seq_dict")
        warnings.append(f"warning: {model_dir} was trained on other sequences than {data.directory} "
                        f"(data checksum differs from model.json); its test split may overlap training")
    if data.seq_length != predictor.input_length:
        raise dio.InputError(f"data {data.directory} has {data.seq_length} bp sequences but the model "
                             f"takes {predictor.input_length} bp; use the data the model was trained on")
    preds_path = Path(preds) if preds else model_dir / "predictions.tsv"
    cols = dio.read_tsv(preds_path, ["id"])
    test_ids = [i for i, s in zip(cols["id"], cols.get("split", ["test"] * len(cols["id"]))) if s == "test"]
    index = {sid: k for k, sid in enumerate(data.ids)}
    absent = [i for i in test_ids if i not in index]
    if absent:
        raise dio.InputError(f"{preds_path} names sequences absent from {data.directory} (e.g. "
                             f"{absent[0]}); the model and data folders do not match, pass --seq_dict")
    if not test_ids:
        raise dio.InputError(f"{preds_path} lists no test sequences; retrain with a test split")
    meta = data.metadata
    pwms = meta.get("pwms") or {}
    names = motif_names or list(meta.get("motifs") or pwms)
    unknown = [m for m in names if m not in pwms]
    if unknown:
        raise dio.InputError(f"motif {unknown[0]} is not in the data ({', '.join(pwms) or 'no motifs'}); "
                             f"choose --motifs from those")
    motifs = [Motif(m, np.asarray(pwms[m], dtype=np.float64)) for m in names]
    background = dio.check_base_distribution(
        background_dist if background_dist is not None else meta.get("background_dist", [0.25] * 4))
    if tests is not None and "distance" in tests and perturb.rule_pair(meta, names) is None:
        raise dio.InputError("a distance test needs a pair of motifs, but this data plants only one "
                             "of the tested motifs; drop 'distance' from --tests or test two motifs")
    if not 0 <= min_effect < 1:
        raise dio.InputError(f"--min_effect {min_effect} must lie in [0, 1)")
    run, notes = attribution.resolve_methods(methods, predictor)
    if run and not meta.get("pos_motifs"):
        raise dio.InputError(f"{data.directory}/metadata.json names no pos_motifs; attribution scoring "
                             f"needs the planted rule, regenerate the data or pass --methods none")
    out = Path(out_dir or Path("results") / model_dir.resolve().name)
    dio.check_out_dir(out, overwrite)
    return InterpretationInputs(predictor, model_dir, data, test_ids, [index[i] for i in test_ids],
                                motifs, background, out, run, notes, warnings)

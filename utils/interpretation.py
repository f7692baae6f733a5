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


FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")


@dataclass
class ModelOptions:
    """How to read a model file from elsewhere (ignored for model folders)."""
    input_layout: str = "auto"
    output_index: int = 0
    output_activation: str = "auto"


@dataclass
class SiteOptions:
    """Where motif sites come from when the data hold no planted sites."""
    motif_db: str = "encode"
    site_pvalue: float = 1e-4
    pair: tuple | None = None
    labels: str | None = None


def _is_fasta(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(FASTA_SUFFIXES)


def resolve_inputs(model: str, seq_dict: str | None = None, preds: str | None = None,
                   motif_names: list[str] | None = None, background_dist=None, tests=None,
                   min_effect: float = 0.05, methods=None, out_dir: str | None = None,
                   overwrite: bool = False, model_options: ModelOptions | None = None,
                   site_options: SiteOptions | None = None) -> InterpretationInputs:
    """Load and cross-check model, data and predictions (the flags of Interpret_models.py).

    The model is a folder written by Train_models.py or a model file from elsewhere
    (``.keras``/``.h5``/``.onnx``); the sequences a data folder of Generate_sequences.py or a
    FASTA file (with ``--labels``). Without planted sites, sites are called by scanning
    for the motifs named (``--motifs``, from ``--motif_db``) and the report states the rule
    found, with nothing to compare it to.
    """
    from utils import models

    model_options = model_options or ModelOptions()
    site_options = site_options or SiteOptions()
    model_dir = Path(model)
    external_model = model_dir.suffix.lower() in models.FILE_SUFFIXES and not model_dir.is_dir()
    data_path = Path(seq_dict) if seq_dict else None
    external_data = data_path is not None and _is_fasta(data_path)
    if site_options.labels is not None and not external_data:
        raise dio.InputError("--labels goes with a FASTA file given as --seq_dict; a data folder has its "
                             "own labels.tsv")
    if external_data:
        data = dio.load_fasta_input(data_path, site_options.labels)
    if external_model:
        if data_path is None:
            raise dio.InputError(f"--model {model_dir} is a model file with no record of its data; pass "
                                 f"the sequences with --seq_dict (a FASTA file or a data folder)")
        if not external_data:
            data = dio.load_dataset(data_path)
        predictor = models.load_file(model_dir, model_options.input_layout, model_options.output_index,
                                     model_options.output_activation, input_length=data.seq_length)
        model_meta = {}
    else:
        predictor = models.load(model_dir)
        model_meta = dio.read_json(model_dir / models.MODEL_JSON)
    recorded = model_meta.get("data") or {}
    warnings = []
    if not external_data and not external_model:
        data_dir = seq_dict or recorded.get("path")
        if not data_dir:
            raise dio.InputError(f"{model_dir}/model.json names no data folder; pass --seq_dict DIR")
        data = dio.load_dataset(data_dir)
        if recorded.get("sha256") and data_checksum(data.directory) != recorded["sha256"]:
            if seq_dict is None:
                raise dio.InputError(f"the data folder {data.directory} named in {model_dir}/model.json has "
                                     f"changed since the model was trained (checksum differs); retrain the "
                                     f"model or pass the data it was trained on with --seq_dict")
            warnings.append(f"warning: {model_dir} was trained on other sequences than {data.directory} "
                            f"(data checksum differs from model.json); its test split may overlap training")
    if data.seq_length != predictor.input_length:
        raise dio.InputError(f"the sequences ({data.directory}) are {data.seq_length} bp but the model "
                             f"takes {predictor.input_length} bp; use sequences of the model's length")
    planted = bool(data.metadata.get("gen_type")) and bool(data.sites)
    if planted:
        dio.check_rule_metadata(data.metadata, Path(data.directory) / dio.METADATA_NAME,
                                {x.motif for v in data.sites.values() for x in v})
    index = {sid: k for k, sid in enumerate(data.ids)}
    preds_path = Path(preds) if preds else (None if external_model else model_dir / "predictions.tsv")
    if preds_path is not None and (preds or not external_data):
        cols = dio.read_tsv(preds_path, ["id"])
        test_ids = [i for i, s in zip(cols["id"], cols.get("split", ["test"] * len(cols["id"]))) if s == "test"]
        absent = [i for i in test_ids if i not in index]
        if absent:
            raise dio.InputError(f"{preds_path} names sequences absent from {data.directory} (e.g. "
                                 f"{absent[0]}); the model and data do not match, pass --seq_dict")
    else:
        test_ids = list(data.ids)        # sequences from elsewhere: every one is a test sequence
    if not test_ids:
        raise dio.InputError(f"{preds_path} lists no test sequences; retrain with a test split")
    meta = data.metadata if planted else {}
    background = dio.check_base_distribution(
        background_dist if background_dist is not None else meta.get("background_dist", [0.25] * 4))
    if planted:
        pwms = meta.get("pwms") or {}
        names = motif_names or list(meta.get("motifs") or pwms)
        unknown = [m for m in names if m not in pwms]
        if unknown:
            raise dio.InputError(f"motif {unknown[0]} is not in the data ({', '.join(pwms) or 'no motifs'}); "
                                 f"choose --motifs from those")
        motifs = [Motif(m, np.asarray(pwms[m], dtype=np.float64)) for m in names]
        if site_options.pair is not None:
            raise dio.InputError("--pair is for sequences without a planted rule; this data's pair is its rule's")
    else:
        from utils import motifs as motiflib
        from utils.encoding import seqs_to_codes

        if not motif_names:
            raise dio.InputError(f"{data.directory} holds no planted sites; name the motifs to look for with "
                                 f"--motifs (from --motif_db {site_options.motif_db}) so their sites can be "
                                 f"called by scanning")
        if not 0 < site_options.site_pvalue < 1:
            raise dio.InputError(f"--site_pvalue {site_options.site_pvalue} must lie strictly between 0 and 1")
        motifs = motiflib.get_motifs(list(motif_names), site_options.motif_db)
        data.sites = motiflib.call_sites(data.ids, seqs_to_codes(data.seqs), motifs, background,
                                         site_options.site_pvalue)
        counts = {m.name: sum(1 for v in data.sites.values() for x in v if x.motif == m.name) for m in motifs}
        pair = site_options.pair
        if pair is not None:
            pair = tuple(pair)
            absent = [p for p in pair if p not in counts]
            if absent:
                raise dio.InputError(f"--pair names {absent[0]}, which is not among --motifs; add it to --motifs")
            if pair[0] == pair[1]:
                raise dio.InputError("--pair needs two different motifs")
            for p in pair:
                if counts[p] == 0:
                    raise dio.InputError(f"--pair names {p}, which has no site at p <= "
                                         f"{site_options.site_pvalue:g} in {data.directory}; raise --site_pvalue "
                                         f"or pair motifs that occur")
        meta = {"motifs": [m.name for m in motifs], "pair": list(pair) if pair else None,
                "background_dist": list(map(float, background)), "motif_sampling": "pwm",
                "site_calling": {"motif_db": site_options.motif_db, "pvalue": site_options.site_pvalue,
                                 "strands": "both", "sites_per_motif": counts,
                                 "definition": "FIMO-style: log-odds of the PWM against the background, "
                                               "exact p-value per window and strand, overlapping sites of "
                                               "one motif resolved by the best score"},
                "seq_length": data.seq_length}
        data.metadata = meta
    if data.labels is None:
        warnings.append("note: no --labels given: each sequence is labelled by the model's own call "
                        "(probability >= 0.5); loss changes are measured against those calls")
        from utils.encoding import one_hot

        data.labels = (predictor.predict(one_hot(data.seqs)) >= 0.5).astype(np.int8)
    if tests is not None and "distance" in tests and perturb.rule_pair(meta, [m.name for m in motifs]) is None:
        raise dio.InputError("a distance test needs a pair of motifs, but none is given; drop 'distance' "
                             "from --tests, test two motifs of a pair rule, or name one with --pair A B")
    if not 0 <= min_effect < 1:
        raise dio.InputError(f"--min_effect {min_effect} must lie in [0, 1)")
    run, notes = attribution.resolve_methods(methods, predictor)
    name = model_dir.stem if external_model else model_dir.resolve().name
    out = Path(out_dir or Path("results") / name)
    dio.check_out_dir(out, overwrite)
    return InterpretationInputs(predictor, model_dir, data, test_ids, [index[i] for i in test_ids],
                                motifs, background, out, run, notes, warnings)

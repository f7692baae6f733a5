"""What Interpret_models.py works on, resolved and cross-checked before any experiment runs.

Four steps, each returning a new object (nothing read is changed in place):
:func:`load_model` (a model folder or a file from elsewhere -> a Predictor and what its folder
records), :func:`load_sequences` (a data folder or a FASTA, the test split, the planted rule),
:func:`call_sites` (sequences without planted sites: the motifs named, found by scanning) and
:func:`choose_tests` (the experiments that apply, the attribution methods the model supports).
:func:`resolve_inputs` chains them for the script. Every problem found is an
:class:`utils.io.InputError`, raised before any work or output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from utils import attribution, folders, io as dio, perturb
from utils.folders import ModelFolder
from utils.motifs import Motif
from utils.planted import PlantedRule

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")


@dataclass
class ModelOptions:
    """How to read a model file from elsewhere (the first four ignored for model folders) and on how
    many strands to read any model."""
    input_layout: str = "auto"
    output_index: int = 0
    output_kind: str = "auto"        # auto | probability | logit | value (utils.models.resolve_output_kind)
    output_reduce: str = "sum"       # a profile output -> one value: sum | mean | max | a position
    rc_average: bool | None = None   # both strands (models.RCAveraged); None: as model.json records, a file one


@dataclass
class SiteOptions:
    """Where motif sites come from when the data hold no planted sites."""
    motif_db: str = "encode"
    site_pvalue: float | str = "auto"   # auto: the generator's match threshold per motif; a number: FIMO's p-value
    pair: tuple | None = None
    labels: str | None = None
    truth_sites: str | None = None      # a BED of the true sites of a FASTA's sequences: used instead of calling


@dataclass(frozen=True)
class LoadedModel:
    """A Predictor and what its model folder records (empty for a model file from elsewhere)."""
    predictor: object
    path: Path
    external: bool
    meta: dict = field(default_factory=dict)             # model.json
    metrics: dict | None = None                          # metrics.json
    test_ids: tuple[str, ...] | None = None              # the test split of predictions.tsv (or --preds)
    test_probs: np.ndarray | None = None                 # the model's probabilities of those, as written

    @property
    def name(self) -> str:
        """The default results folder's name: the model folder's, or the file's stem."""
        return self.path.stem if self.external else self.path.resolve().name


@dataclass(frozen=True)
class Sequences:
    """The test sequences and the truth about them.

    ``rule`` is the planted rule (None for sequences from elsewhere); ``library`` the motifs
    the data planted (name -> Motif); ``labels`` None when a FASTA came without labels.
    """
    directory: Path
    ids: tuple[str, ...]
    seqs: tuple[str, ...]
    labels: np.ndarray | None
    sites: dict
    rule: PlantedRule | None
    library: dict
    background: np.ndarray
    sampling: str = "pwm"
    warnings: tuple[str, ...] = ()
    same_data: bool = False          # the data folder the model's own predictions.tsv describes
    match_thresholds: dict = field(default_factory=dict)    # motif -> (score, share kept): how instances were drawn
    strand: str = "both"             # the strands the data planted on (metadata's strand): plus or both

    @property
    def lengths(self) -> tuple[int, ...]:
        """The sequences' lengths, each once, increasing (one for generated data)."""
        return tuple(sorted({len(x) for x in self.seqs}))

    @property
    def seq_length(self) -> int | None:
        """The sequences' one length; None for a FASTA of mixed lengths."""
        return self.lengths[0] if len(self.lengths) == 1 else None


@dataclass(frozen=True)
class CalledSites:
    """Motif sites of sequences without planted ones, found by a FIMO-style scan."""
    sites: dict
    motifs: list
    pair: tuple[str, str] | None
    record: dict                     # summary.json's site_calling


@dataclass
class InterpretationInputs:
    """Everything the experiments and attribution need, cross-checked."""
    predictor: object
    model: LoadedModel
    sequences: Sequences
    test_ids: list[str]
    labels: np.ndarray               # (N,) int 0/1 classes of the test sequences the experiments select by
                                     # (the model's calls without labels; see test_classes)
    sites: dict                      # id -> planted or called sites
    motifs: list[Motif]
    plan: perturb.ExperimentPlan
    background: np.ndarray           # (4,) base distribution perturbations resample from
    out_dir: Path
    methods: list[str]
    site_calling: dict | None = None
    base_prob: np.ndarray | None = None  # (N,) the model's own probabilities of the test sequences, as
                                         # predictions.tsv holds them (None: computed afresh)
    notes: list[str] = field(default_factory=list)      # skipped attribution methods
    warnings: list[str] = field(default_factory=list)   # for stderr, one line each
    targets: np.ndarray | None = None    # (N,) float: what a value output's loss compares with
                                         # (labels or activities; NaN without labels); None for classifiers


def _is_fasta(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(FASTA_SUFFIXES)


def is_model_file(model: str | Path) -> bool:
    from utils import models

    path = Path(model)
    return path.suffix.lower() in models.FILE_SUFFIXES and not path.is_dir()


# ----------------------------------------------------------------------------- 1. the model
def load_model(model: str | Path, options: ModelOptions | None = None, input_length: int | None = None,
               preds: str | None = None, class_labels: bool | None = None) -> LoadedModel:
    """A model folder written by Train_models.py, or a ``.keras``/``.h5``/``.onnx`` file.

    ``input_length`` is the sequences' length (a model file may take any length); ``preds``
    a predictions.tsv naming the test split (default: the model folder's own); ``class_labels``
    the sequences' labels are 0/1 (a model file's linear output is then a logit).
    """
    from utils import models

    path = Path(model)
    options = options or ModelOptions()
    if is_model_file(path):
        predictor = models.load_file(path, options.input_layout, options.output_index,
                                     options.output_kind, input_length=input_length, class_labels=class_labels,
                                     output_reduce=options.output_reduce)
        return LoadedModel(strands(predictor, options.rc_average), path, True,
                           test_ids=_test_ids(Path(preds)) if preds else None)
    own = path / ModelFolder.PREDICTIONS
    record = folders.read_model_folder(path, predictions=not preds and own.is_file())
    predictor = strands(models.load(path, record.meta), options.rc_average)
    metrics = record.metrics or None          # {} when the folder has no metrics.json
    if preds:
        return LoadedModel(predictor, path, False, record.meta, metrics, _test_ids(Path(preds)))
    if record.predictions is None:
        return LoadedModel(predictor, path, False, record.meta, metrics)
    test = [k for k, s in enumerate(record.predictions.split) if s == "test"]
    if not test:
        raise dio.InputError(f"{own} lists no test sequences; retrain with a test split")
    probs = record.predictions.probs
    return LoadedModel(predictor, path, False, record.meta, metrics,
                       tuple(record.predictions.ids[k] for k in test),
                       None if probs is None or not np.all(np.isfinite(probs[test])) else probs[test])


def strands(predictor, rc_average: bool | None):
    """``predictor`` read on both strands (True: models.RCAveraged), on one (False: its strand model),
    or as loaded (None)."""
    from utils import models

    if rc_average is None:
        return predictor
    strand = getattr(predictor, "strand", predictor)
    return models.RCAveraged(strand) if rc_average else strand


def _test_ids(path: Path) -> tuple[str, ...]:
    ids = tuple(folders.read_predictions(path).test_ids)
    if not ids:
        raise dio.InputError(f"{path} lists no test sequences; retrain with a test split")
    return ids


# ----------------------------------------------------------------------------- 2. the sequences
def load_sequences(seq_dict: str | None, labels: str | None = None, model_path: Path | None = None,
                   model_meta: dict | None = None, external_model: bool = False) -> Sequences:
    """A data folder of Generate_sequences.py (default: the one model.json names) or a FASTA
    file (plain or gzipped, with an optional ``labels`` TSV); the planted rule read once.

    ``same_data`` in the result: the sequences are the ones the model folder was trained and
    tested on (the data checksum model.json records), so its predictions.tsv describes them."""
    data_path = Path(seq_dict) if seq_dict else None
    external_data = data_path is not None and _is_fasta(data_path)
    if labels is not None and not external_data:
        raise dio.InputError("--labels goes with a FASTA file given as --seq_dict; a data folder has its "
                             "own labels.tsv")
    warnings, same_data = [], False
    if external_data:
        data = folders.load_fasta_input(data_path, labels, same_length=False)   # lengths checked against the model
        warnings.extend(data.notes)
        recorded = (model_meta or {}).get("data") or {}
        # the very FASTA (and labels) a model folder was trained on: its own test split applies
        # (the folder's checksum covers its other files too: the FASTA's own hash finds its sequences.fa)
        same_data = not external_model and (
            (bool(recorded.get("sha256")) and data.checksum == recorded["sha256"])
            or (bool(recorded.get("sequences_sha256")) and data.sequences_sha256 == recorded["sequences_sha256"]))
    elif external_model:
        if data_path is None:
            raise dio.InputError(f"--model {model_path} is a model file with no record of its data; pass "
                                 f"the sequences with --seq_dict (a FASTA file or a data folder)")
        data = folders.load_dataset(data_path)
    else:
        recorded = (model_meta or {}).get("data") or {}
        data_dir = seq_dict or recorded.get("path")
        if not data_dir:
            raise dio.InputError(f"{model_path}/model.json names no data folder; pass --seq_dict DIR")
        data = folders.load_dataset(data_dir)
        same_data = bool(recorded.get("sha256")) and data.checksum == recorded["sha256"]
        if recorded.get("sha256") and not same_data:
            if seq_dict is None:
                raise dio.InputError(f"the data folder {data.directory} named in {model_path}/model.json has "
                                     f"changed since the model was trained (checksum differs); retrain the "
                                     f"model or pass the data it was trained on with --seq_dict")
            warnings.append(f"warning: {model_path} was trained on other sequences than {data.directory} "
                            f"(data checksum differs from model.json); its test split may overlap training")
    planted = data.rule is not None and bool(data.sites)   # a rule without sites: scan like any FASTA
    return Sequences(Path(data.directory), tuple(data.ids), tuple(data.seqs), data.labels,
                     dict(data.sites) if planted else {}, data.rule if planted else None,
                     dict(data.library) if planted else {}, data.background if planted else np.full(4, 0.25),
                     data.sampling if planted else "pwm", tuple(warnings), same_data,
                     dict(data.match_thresholds) if planted else {},
                     str(data.metadata.get("strand") or "both") if planted else "both")


# ----------------------------------------------------------------------------- 3. the sites
def call_sites(seqs: Sequences, motif_names: list[str] | None, background: np.ndarray,
               options: SiteOptions) -> CalledSites:
    """Sites of the motifs named (``--motifs`` from ``--motif_db``) by a scan of both strands at
    each motif's threshold (``options.site_pvalue``: ``auto``, the generator's match threshold
    against ``background``, or FIMO's p-value; :func:`utils.motifs.site_threshold`); checks
    ``options.pair`` against what was found. The record (summary.json's ``site_calling``) holds
    each motif's threshold as score and p-value, and the sites it found."""
    from utils import motifs as motiflib
    from utils.encoding import seqs_to_codes

    if not motif_names:
        raise dio.InputError(f"{seqs.directory} holds no planted sites; name the motifs to look for with "
                             f"--motifs (from --motif_db {options.motif_db}) so their sites can be "
                             f"called by scanning")
    auto = options.site_pvalue == motiflib.SITE_AUTO
    if not auto and not (isinstance(options.site_pvalue, (int, float)) and 0 < options.site_pvalue < 1):
        raise dio.InputError(f"--site_pvalue {options.site_pvalue} must be auto or lie strictly between 0 and 1")
    motifs = motiflib.get_motifs(list(motif_names), options.motif_db)
    thresholds = motiflib.site_thresholds(motifs, background, options.site_pvalue)
    sites = {}
    for rows in length_batches(seqs.seqs):      # one batch, unless a model of any length reads mixed lengths
        sites.update(motiflib.call_sites([seqs.ids[k] for k in rows], seqs_to_codes([seqs.seqs[k] for k in rows]),
                                         motifs, background, thresholds=thresholds))
    counts = {m.name: sum(1 for v in sites.values() for x in v if x.motif == m.name) for m in motifs}
    threshold_text = "auto" if auto else f"p <= {options.site_pvalue:g}"
    pair = _checked_pair(options.pair, counts, "--motifs", f"at {threshold_text} in {seqs.directory}; raise "
                                                           f"--site_pvalue or pair motifs that occur")
    record = {"motif_db": options.motif_db, "pvalue": options.site_pvalue, "strands": "both",
              "threshold": threshold_text, "background": [float(v) for v in background],
              "thresholds": {name: t.to_json() for name, t in thresholds.items()},
              "sites_per_motif": counts,
              "definition": (motiflib.SITE_AUTO_DEFINITION if auto else
                             "FIMO-style: log-odds of the PWM against the background, exact p-value per "
                             "window and strand") + "; windows holding N are never sites; overlapping sites "
                                                    "of one motif resolved by the best score"}
    return CalledSites(sites, motifs, pair, record)


def _checked_pair(pair, counts: dict, among: str, where: str) -> tuple[str, str] | None:
    """``--pair`` checked against the sites found (motif -> count): two different motifs, each
    ``among`` the motifs in play and with a site (``where`` says where none was found and the fix)."""
    if pair is None:
        return None
    pair = tuple(pair)
    absent = [p for p in pair if p not in counts]
    if absent:
        raise dio.InputError(f"--pair names {absent[0]}, which is not among {among}; add it to --motifs")
    if pair[0] == pair[1]:
        raise dio.InputError("--pair needs two different motifs")
    for p in pair:
        if counts[p] == 0:
            raise dio.InputError(f"--pair names {p}, which has no site {where}")
    return pair


def read_truth_sites(seqs: Sequences, motif_names: list[str] | None, options: SiteOptions) -> CalledSites:
    """The true sites a user holds for a FASTA's sequences (``--truth_sites`` BED: id, start, end,
    motif, score, strand), used as planted sites are: each motif named in column 4 (or only those
    of ``--motifs``) is looked up in ``--motif_db`` for the experiments that draw its instances;
    every id must be a sequence of the FASTA and every site must lie inside it."""
    from utils import motifs as motiflib
    from utils.seqfiles import read_bed

    path = options.truth_sites
    rows = read_bed(path)
    length = {sid: len(seq) for sid, seq in zip(seqs.ids, seqs.seqs)}
    for s in rows:
        if s.seq_id not in length:
            raise dio.InputError(f"{path} names sequence {s.seq_id!r}, which is not in {seqs.directory}; give "
                                 f"the BED of these sequences")
        if s.end > length[s.seq_id]:
            raise dio.InputError(f"{path}: the site {s.seq_id}:{s.start}-{s.end} ({s.motif}) runs past the end of "
                                 f"its {length[s.seq_id]} bp sequence; give 0-based, end-exclusive coordinates")
    in_bed = list(dict.fromkeys(s.motif for s in rows))
    if not in_bed:
        raise dio.InputError(f"{path} holds no sites; give a BED with one line per true site (id start end motif)")
    names = list(motif_names) if motif_names else in_bed
    absent = [m for m in names if m not in in_bed]
    if absent:
        raise dio.InputError(f"--motifs names {absent[0]}, which has no site in {path}; name motifs of its "
                             f"column 4 ({', '.join(in_bed[:5])})")
    motifs = motiflib.get_motifs(names, options.motif_db)
    keep = set(names)
    sites: dict = {}
    for s in rows:
        if s.motif in keep:
            sites.setdefault(s.seq_id, []).append(s)
    for v in sites.values():
        v.sort(key=lambda x: (x.start, x.end, x.motif))
    counts = {m: sum(1 for v in sites.values() for x in v if x.motif == m) for m in names}
    pair = _checked_pair(options.pair, counts, "the motifs of --truth_sites (its column 4) and --motifs",
                         f"in {path}")
    record = {"source": str(path), "motif_db": options.motif_db, "sites_per_motif": counts,
              "definition": "the true sites the user gave (--truth_sites), not called by scanning"}
    return CalledSites(sites, motifs, pair, record)


# ----------------------------------------------------------------------------- 4. the tests
def choose_tests(rule: PlantedRule | None, motifs: list[Motif], pair, tests, methods, predictor):
    """The experiments that apply (:func:`utils.perturb.plan_experiments`) and the attribution
    methods the model supports -> (plan, methods to run, notes on those skipped)."""
    plan = perturb.plan_experiments(rule, motifs, pair, tests)
    run, notes = attribution.resolve_methods(methods, predictor)
    return plan, run, notes


def resolve_inputs(model: str, seq_dict: str | None = None, preds: str | None = None,
                   motif_names: list[str] | None = None, background_dist=None, tests=None,
                   min_effect: float = 0.05, methods=None, out_dir: str | None = None,
                   overwrite: bool = False, model_options: ModelOptions | None = None,
                   site_options: SiteOptions | None = None) -> InterpretationInputs:
    """Load and cross-check model, data and predictions (the flags of Interpret_models.py)."""
    site_options = site_options or SiteOptions()
    if min_effect is not None and not 0 <= min_effect:
        raise dio.InputError(f"--min_effect {min_effect} is negative; give the smallest effect that counts, 0 or more")
    external_model = is_model_file(model)
    if external_model:
        seqs = load_sequences(seq_dict, site_options.labels, Path(model), external_model=True)
        if seqs.seq_length is None and Path(model).suffix.lower() not in KERAS_SUFFIXES:
            raise dio.InputError(f"{seq_dict}: sequences have unequal lengths ({seqs.lengths[0]} to "
                                 f"{seqs.lengths[-1]} bp); mixed lengths are read only for a Keras model (.keras, "
                                 f".h5) that takes any length; give sequences of the same length")
        loaded = load_model(model, model_options, seqs.seq_length, preds, class_labels=_are_classes(seqs.labels))
    else:
        loaded = load_model(model, model_options, None, preds)
        seqs = load_sequences(seq_dict, site_options.labels, loaded.path, loaded.meta)
    predictor = loaded.predictor
    kind = getattr(predictor, "output_kind", "probability")
    if min_effect is not None and kind != "value" and min_effect >= 1:
        raise dio.InputError(f"--min_effect {min_effect} must lie in [0, 1) for a model whose output is a "
                             f"probability")
    check_lengths(seqs, predictor, seq_dict)
    index = {sid: k for k, sid in enumerate(seqs.ids)}
    external_data = seq_dict is not None and _is_fasta(Path(seq_dict))
    split_note = None
    if preds or seqs.same_data or not (external_data or external_model):
        if loaded.test_ids is None:
            raise dio.InputError(f"{loaded.path / ModelFolder.PREDICTIONS} is missing; retrain the model or name "
                                 f"its test split with --preds")
        test_ids = list(loaded.test_ids)
        absent = [i for i in test_ids if i not in index]
        if absent:
            source = preds or loaded.path / ModelFolder.PREDICTIONS
            raise dio.InputError(f"{source} names sequences absent from {seqs.directory} (e.g. "
                                 f"{absent[0]}); the model and data do not match, pass --seq_dict")
        if external_data and seqs.same_data and not preds:
            split_note = (f"note: {seq_dict} holds the sequences {loaded.path.name} was trained on (model.json's "
                            f"checksum): its own test split of {len(test_ids)} sequences is interpreted, not the "
                            f"{len(seqs.ids)} it trained and validated on; name other sequences with --preds to "
                            f"choose them")
    else:
        test_ids = list(seqs.ids)        # sequences from elsewhere: every one is a test sequence
    background = dio.check_base_distribution(background_dist if background_dist is not None
                                             else seqs.background)
    warnings = list(seqs.warnings) + ([split_note] if split_note else [])
    if seqs.seq_length is None:          # mixed lengths: each length's sequences together, shortest first
        size = {sid: len(seq) for sid, seq in zip(seqs.ids, seqs.seqs)}
        test_ids.sort(key=lambda i: size[i])
        warnings.append(length_note(seqs, test_ids))
    called = None
    if seqs.rule is not None and site_options.truth_sites:
        raise dio.InputError(f"--truth_sites is for sequences without planted sites; {seqs.directory} has its own "
                             f"motif_sites.bed")
    if seqs.rule is not None:
        names = motif_names or list(seqs.rule.motifs)
        unknown = [m for m in names if m not in seqs.library]
        if unknown:
            raise dio.InputError(f"motif {unknown[0]} is not in the data ({', '.join(seqs.library)}); "
                                 f"choose --motifs from those")
        motifs = [seqs.library[m] for m in names]
        if site_options.pair is not None:
            raise dio.InputError("--pair is for sequences without a planted rule; this data's pair is its rule's")
        sites, pair = seqs.sites, None
    else:
        called = read_truth_sites(seqs, motif_names, site_options) if site_options.truth_sites \
            else call_sites(seqs, motif_names, background, site_options)
        motifs, sites, pair = called.motifs, called.sites, called.pair
    rows = [index[i] for i in test_ids]
    if external_model:
        warnings.append(f"note: {Path(model).name}: output {loaded.predictor.output_index} is read as a {kind} "
                        f"({predictor.output_kind_reason}); effects are in "
                        f"{'probability' if kind != 'value' else 'its own units'} (--output_kind to choose)")
    labels, targets, note, outputs = test_classes(predictor, seqs, rows)
    if note:
        warnings.append(note)
    plan, run, notes = choose_tests(seqs.rule, motifs, pair, tests, methods, predictor)
    out = Path(out_dir or Path("results") / loaded.name)
    folders.check_out_dir(out, overwrite)
    # the model folder's predictions.tsv was written from these very sequences: its probabilities
    # are the experiments' starting point, not computed a second time
    base_prob = loaded.test_probs if seqs.same_data and not preds else outputs
    return InterpretationInputs(predictor, loaded, seqs, test_ids, labels, sites, motifs, plan, background,
                                out, run, called.record if called else None, base_prob, notes, warnings, targets)


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def check_lengths(seqs: Sequences, predictor, seq_dict) -> None:
    """Sequences of the model's length; mixed lengths only for a model that takes any length."""
    length = predictor.input_length
    if length is None or seqs.lengths == (length,):
        return
    if seqs.seq_length is None:
        raise dio.InputError(f"{seq_dict or seqs.directory}: sequences have unequal lengths ({seqs.lengths[0]} to "
                             f"{seqs.lengths[-1]} bp) but the model takes {length} bp; give sequences of the same "
                             f"length, the model's")
    raise dio.InputError(f"the sequences ({seqs.directory}) are {seqs.seq_length} bp but the model "
                         f"takes {length} bp; use sequences of the model's length")


def length_note(seqs: Sequences, test_ids: list[str]) -> str:
    """What a run on sequences of mixed lengths does with them (one line for stderr)."""
    size = {sid: len(seq) for sid, seq in zip(seqs.ids, seqs.seqs)}
    counts: dict[int, int] = {}
    for i in test_ids:
        counts[size[i]] = counts.get(size[i], 0) + 1
    main = max(counts, key=lambda n: (counts[n], n))
    return (f"note: the test sequences have {len(counts)} lengths ({min(counts)} to {max(counts)} bp): each is "
            f"predicted and perturbed in batches of one length and every test pools them; the distance, dose and "
            f"position curves, the effects in background sequences and the attribution maps use the "
            f"{counts[main]} sequences of {main} bp, the most common length")


def length_batches(seqs) -> list[list[int]]:
    """The positions of the sequences of each length, lengths increasing, each in the order given:
    the (n, L, 4) batches of one length a model that takes any length is called on (one batch
    when all share a length)."""
    groups: dict[int, list[int]] = {}
    for k, seq in enumerate(seqs):
        groups.setdefault(len(seq), []).append(k)
    return [groups[n] for n in sorted(groups)]


def predict_by_length(predictor, seqs: list[str]) -> np.ndarray:
    """The model's outputs of sequences of any lengths, one batch per length, in their order."""
    from utils.encoding import one_hot

    out = np.zeros(len(seqs), dtype=np.float64)
    for rows in length_batches(seqs):
        out[rows] = np.asarray(predictor.predict(one_hot([seqs[k] for k in rows])), dtype=np.float64)
    return out


def _are_classes(labels: np.ndarray | None) -> bool | None:
    """True when every label is 0 or 1, False for other numbers, None without labels."""
    if labels is None:
        return None
    return bool(np.all(np.isin(np.asarray(labels, dtype=np.float64), (0.0, 1.0))))


def test_classes(predictor, seqs: Sequences, rows: list[int]) -> tuple:
    """(classes the experiments select by, the targets a value output's loss compares with, a note,
    the model's outputs of the test sequences when they had to be computed (else None): the
    experiments start from them instead of predicting the same sequences again).

    A classifier: the 0/1 labels, or without labels the model's own calls (probability >= 0.5).
    A value output (regression): 0/1 labels as they are; real-valued labels (activities) split
    at their median (the upper half counts as "positive": the sequences whose motifs ablation
    should lower); without labels the model's own outputs split at their median, and no loss."""
    value = getattr(predictor, "output_kind", "probability") == "value"
    labels = None if seqs.labels is None else np.asarray(seqs.labels, dtype=np.float64)[rows]
    if not value:
        if labels is not None:
            return labels.astype(np.int64), None, None, None
        out = predict_by_length(predictor, [seqs.seqs[k] for k in rows])
        return (out >= 0.5).astype(np.int64), None, (
            "note: no --labels given: each sequence is labelled by the model's own call (probability >= "
            "0.5); loss changes are measured against those calls"), out
    if labels is not None and _are_classes(labels):
        return labels.astype(np.int64), labels, None, None
    if labels is not None:
        return (labels >= np.median(labels)).astype(np.int64), labels, (
            "note: real-valued labels: the experiments take the test sequences at or above the median label "
            f"({np.median(labels):.4g}) as the positives; loss changes are in squared error"), None
    out = predict_by_length(predictor, [seqs.seqs[k] for k in rows])
    return (out >= np.median(out)).astype(np.int64), np.full(len(rows), np.nan), (
        f"note: no --labels given: the test sequences whose output is at or above the median output "
        f"({np.median(out):.4g}) count as the positives; without labels there is no loss change"), out

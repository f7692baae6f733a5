"""One contract per folder: what the data, model and results folders hold, and their readers.

Each folder's class names every file it holds; the list ``--overwrite`` checks
(:data:`SUITE_OUTPUTS`) is derived from the three, so a file a script writes cannot be
missing from it. The readers read each file once: :func:`load_dataset` computes the data
folder's checksum from the bytes it parsed, and :func:`read_model_folder` reads
model.json, metrics.json and predictions.tsv for whoever needs them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from utils import planted
from utils.io import InputError, check_base_distribution, read_bytes, read_json, read_tsv
from utils.motifs import Motif
from utils.seqfiles import TARGETS, Site, read_bed, read_fasta, read_labels, sites_by_id, target_of


# ----------------------------------------------------------------------------- the contracts
class DataFolder:
    """Generate_sequences.py's output (``--out_dir``, default ``data/generated``)."""
    FASTA = "sequences.fa"              # one line of uppercase ACGT per record
    LABELS = "labels.tsv"               # id<TAB>label: 0/1, or a real number (target activity)
    SITES = "motif_sites.bed"           # BED6, one line per planted motif instance
    METADATA = "metadata.json"          # the rule, every parameter, the PWMs, class counts, the target
    FILES = (FASTA, LABELS, SITES, METADATA)    # also the order of the checksum
    MARKER = METADATA
    PATTERNS: tuple[tuple[str, str], ...] = ()
    DIRS: tuple[str, ...] = ()


class ModelFolder:
    """Train_models.py's output (``--out_dir``/``--model_name``, default ``models/<model_name>``)."""
    MODEL_JSON = "model.json"           # kind, input length, features, flags, data checksum
    KERAS = "model.keras"               # the CNN
    SKOPS = "model.skops"               # a k-mer model (skops, allow-listed types)
    SPLIT = "split.tsv"                 # id<TAB>split
    METRICS = "metrics.json"
    TIMING = "timing.json"              # wall-clock seconds (not reproducible, kept apart)
    PREDICTIONS = "predictions.tsv"     # id split label prob (activity: pred) of the test split
    HISTORY = "history.csv"             # per-epoch rows (CNN)
    CURVES = "learning_curves.png"
    FILES = (MODEL_JSON, KERAS, SKOPS, SPLIT, METRICS, TIMING, PREDICTIONS, HISTORY, CURVES)
    MARKER = MODEL_JSON
    PATTERNS: tuple[tuple[str, str], ...] = ()
    DIRS: tuple[str, ...] = ()


class ResultsFolder:
    """Interpret_models.py's output (``--out_dir``, default ``results/<model_name>``)."""
    INTERPRETATION = "interpretation.csv"     # one row per hypothesis test
    SUMMARY = "summary.json"
    REPORT = "report.md"
    DISTANCE_CSV = "distance_curve.csv"       # gap -> mean probability, confidence band
    DISTANCE_PNG = "distance_curve.png"
    DOSE_CSV = "dose_curve.csv"               # copies rules: number of copies -> mean output, confidence band
    DOSE_PNG = "dose_curve.png"
    POSITION_CSV = "position_curve.csv"       # start of the moved motif -> mean output, confidence band
    POSITION_PNG = "position_curve.png"
    SCORES_CSV = "attribution_scores.csv"     # one row per attribution method
    SCORES_PNG = "attribution_scores.png"
    MASS_CSV = "attribution_mass.csv"         # attribution mass on sites (no planted truth)
    LOGO_DIR = "logos"                        # logos/<id>_<pos|neg>.png
    CALLED_SITES = "called_sites.bed"         # sequences without planted sites: the sites the scan called
    FILES = (INTERPRETATION, SUMMARY, REPORT, DISTANCE_CSV, DISTANCE_PNG, DOSE_CSV, DOSE_PNG, POSITION_CSV, POSITION_PNG, SCORES_CSV,
             SCORES_PNG, MASS_CSV, CALLED_SITES)
    MARKER = SUMMARY
    ATTRIBUTIONS = ("attributions_", ".npz")  # attributions_<method>.npz
    MOTIFS_CSV = ("motifs_", ".csv")          # --discover_motifs: motifs_<method>.csv, one row per pattern
    MOTIFS_MEME = ("motifs_", ".meme")        # ... and the patterns' PPMs in MEME format
    MOTIF_LOGO_DIR = "motif_logos"            # motif_logos/<method>_<pattern>.png: pattern beside its PWM
    PATTERNS = (ATTRIBUTIONS, MOTIFS_CSV, MOTIFS_MEME)
    DIRS = (LOGO_DIR, MOTIF_LOGO_DIR)

    @staticmethod
    def attributions(method: str) -> str:
        """The file of one method's attributions: ``attributions_<method>.npz``."""
        prefix, suffix = ResultsFolder.ATTRIBUTIONS
        return f"{prefix}{method}{suffix}"

    @staticmethod
    def motifs_csv(method: str) -> str:
        """The patterns modisco found in one method's maps: ``motifs_<method>.csv``."""
        prefix, suffix = ResultsFolder.MOTIFS_CSV
        return f"{prefix}{method}{suffix}"

    @staticmethod
    def motifs_meme(method: str) -> str:
        """Their PPMs: ``motifs_<method>.meme``."""
        prefix, suffix = ResultsFolder.MOTIFS_MEME
        return f"{prefix}{method}{suffix}"


CONTRACTS = (DataFolder, ModelFolder, ResultsFolder)
# What the three scripts write into their output folders: a folder holding one of the
# markers and nothing but these names is the suite's own, and --overwrite may replace it.
SUITE_MARKERS = tuple(c.MARKER for c in CONTRACTS)
SUITE_OUTPUTS = frozenset(name for c in CONTRACTS for name in (*c.FILES, *c.DIRS)) | {".gitkeep"}
_SUITE_PATTERNS = tuple(p for c in CONTRACTS for p in c.PATTERNS)


def is_suite_output(name: str) -> bool:
    """Whether a folder entry's name is one that a script of the suite writes."""
    return name in SUITE_OUTPUTS or any(name.startswith(a) and name.endswith(b) for a, b in _SUITE_PATTERNS)


# ----------------------------------------------------------------------------- output folders
def check_out_dir(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse, before any work, an output folder that cannot be (re)written.

    A folder that holds files is replaced only with ``overwrite`` and only when it is the
    suite's own output: it holds a marker (metadata.json, model.json or summary.json) and
    nothing but the files the scripts write. Anything else (say ``data/`` holding several
    datasets) is refused, so --overwrite never deletes what the suite did not write. A folder
    that another run fills meanwhile is refused again at the move (:func:`utils.io.staged_dir`).
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out_dir {out} is a file, not a folder; name a folder")
    entries = sorted(p.name for p in out.iterdir() if p.name != ".gitkeep") if out.is_dir() else []
    if entries:
        if not overwrite:
            raise InputError(f"--out_dir {out} already holds files; pass --overwrite to replace them "
                             f"or name another folder")
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise InputError(f"--out_dir {out} is the current folder or holds it; --overwrite cannot "
                             f"replace it, name a sub-folder")
        foreign = [e for e in entries if not is_suite_output(e)]
        if foreign or not any(m in entries for m in SUITE_MARKERS):
            shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "") if foreign else \
                "no metadata.json, model.json or summary.json"
            raise InputError(f"--out_dir {out} was not written by this suite ({shown}), so --overwrite "
                             f"will not replace it; name a new folder or empty it yourself")
    ancestor = out if out.exists() else out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK) or not _can_create_in(ancestor):
        raise InputError(f"--out_dir {out} cannot be written (no folder can be made in {ancestor}); "
                         f"name a folder you can write to")
    return out


def check_free_space(path: str | os.PathLike, need_bytes: int) -> None:
    """Refuse, before any work, an output the disk under ``path`` cannot hold."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if need_bytes > free:
        raise InputError(f"--out_dir {path} needs about {need_bytes / 1e9:.1f} GB but {folder} has "
                         f"{free / 1e9:.1f} GB free; generate fewer or shorter sequences or write elsewhere")


def _can_create_in(folder: Path) -> bool:
    """Try it: root passes os.access everywhere, yet /proc or /sys refuse new folders."""
    try:
        probe = tempfile.mkdtemp(prefix=".write-probe-", dir=folder)
    except OSError:
        return False
    os.rmdir(probe)
    return True


# ----------------------------------------------------------------------------- data folder
@dataclass
class Dataset:
    """A data folder in memory: the sequences, their labels, planted sites and the planted rule.

    ``rule``: the planted rule read from metadata.json (:func:`utils.planted.from_json`), None
    for sequences from elsewhere; ``library``: name -> Motif of every PWM the data planted;
    ``background``: (4,) the base distribution the data drew; ``sampling``: how instances were
    drawn (pwm or consensus); ``metadata``: the metadata.json record as read, for provenance
    (the suite reads the rule and motifs from the fields above, never from it);
    ``labels``: (N,) int8 0/1 for a class target, float64 for an activity target, or None for
    sequences from elsewhere without labels; ``target``: ``"class"`` or ``"activity"``
    (metadata.json's ``target``, absent meaning class; without metadata.json told from the
    labels, :func:`utils.seqfiles.read_labels`), None without labels;
    ``checksum``: sha256 hex digest of the files read, in :attr:`DataFolder.FILES` order
    (what model.json records as ``data.sha256``); ``files``: the names of
    :attr:`DataFolder.FILES` present in ``directory``.
    """
    directory: Path
    ids: list[str]
    seqs: list[str]
    labels: np.ndarray | None
    sites: dict[str, list[Site]] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    checksum: str = ""
    files: tuple[str, ...] = ()
    rule: planted.PlantedRule | None = None
    library: dict = field(default_factory=dict)
    background: np.ndarray = field(default_factory=lambda: np.full(4, 0.25))
    sampling: str = "pwm"
    match_thresholds: dict = field(default_factory=dict)   # motif -> (score, share of PWM draws kept)
    target: str | None = "class"
    notes: tuple[str, ...] = ()      # what reading the files decided that the user should hear (stderr)
    sequences_sha256: str = ""       # sha256 of the FASTA's bytes alone: the same sequences read as a folder or a FASTA

    @property
    def seq_length(self) -> int:
        return len(self.seqs[0])


def resolve_data_path(path: str | os.PathLike) -> tuple[Path, Path]:
    """Accept a data folder or a FASTA path with labels.tsv beside it -> (folder, fasta)."""
    p = Path(path)
    if p.is_dir():
        fasta = p / DataFolder.FASTA
        if not fasta.exists():
            raise InputError(f"data folder {p} has no {DataFolder.FASTA}; run Generate_sequences.py "
                             f"--out_dir {p} first or name another folder")
        return p, fasta
    if p.is_file():
        return p.parent, p
    raise InputError(f"data {p} does not exist; run Generate_sequences.py first or name the data folder")


def load_dataset(path: str | os.PathLike, need_sites: bool = False) -> Dataset:
    """Read and cross-check a data folder (or FASTA + labels.tsv beside it), each file once.

    ``need_sites``: refuse a folder without motif_sites.bed and metadata.json, and check
    the planted rule's fields (what interpretation needs).
    """
    folder, fasta = resolve_data_path(path)
    labels_path = folder / DataFolder.LABELS
    if not labels_path.exists():
        raise InputError(f"data folder {folder} has no {DataFolder.LABELS}; it must hold 'id<TAB>label' rows")
    digest = hashlib.sha256()
    raw = read_bytes(fasta)
    if fasta.name == DataFolder.FASTA:
        digest.update(raw)
    elif (folder / DataFolder.FASTA).is_file():
        # a FASTA given by another name: the checksum has always covered the folder's own
        # sequences.fa, and model.json files on disk record it so
        digest.update(read_bytes(folder / DataFolder.FASTA))
    ids, seqs = read_fasta(fasta, raw)
    sequences_sha256 = hashlib.sha256(raw).hexdigest()
    del raw
    meta_path = folder / DataFolder.METADATA
    meta_raw, metadata = None, {}
    if meta_path.exists():          # read first for the target; hashed in its place below
        meta_raw = read_bytes(meta_path, "JSON file")
        metadata = read_json(meta_path, meta_raw)
    target = metadata_target(metadata, meta_path) if meta_raw is not None else None
    raw = read_bytes(labels_path)
    digest.update(raw)
    label_ids, labels = read_labels(labels_path, raw, target)
    if label_ids != ids:
        missing = set(ids) - set(label_ids)
        extra = set(label_ids) - set(ids)
        if missing or extra:
            example = sorted(missing or extra)[0]
            raise InputError(f"{labels_path} ids do not match {fasta.name} (e.g. {example!r}); "
                             f"regenerate the labels from the same run")
        order = {k: i for i, k in enumerate(label_ids)}
        labels = labels[[order[k] for k in ids]]
    sites: dict[str, list[Site]] = {}
    sites_path = folder / DataFolder.SITES
    if sites_path.exists():
        raw = read_bytes(sites_path)
        digest.update(raw)
        sites = sites_by_id(read_bed(sites_path, raw))
    elif need_sites:
        raise InputError(f"data folder {folder} has no {DataFolder.SITES}; interpretation needs the planted "
                         f"sites written by Generate_sequences.py")
    if sites:
        length = len(seqs[0])
        known = set(ids)
        for seq_id, seq_sites in sites.items():
            if seq_id not in known:
                raise InputError(f"{sites_path} names sequence {seq_id!r}, which {fasta.name} lacks; "
                                 f"use the sites written with these sequences")
            far = next((x for x in seq_sites if x.end > length), None)
            if far is not None:
                raise InputError(f"{sites_path}: a site of {seq_id} ends at {far.end}, past the "
                                 f"{length} bp sequence; use the sites written with these sequences")
    if meta_raw is not None:
        digest.update(meta_raw)
    if need_sites and not metadata:
        raise InputError(f"data folder {folder} has no {DataFolder.METADATA}; interpretation needs the "
                         f"planted rule written by Generate_sequences.py")
    rule, library, background = None, {}, np.full(4, 0.25)
    if need_sites or metadata.get("gen_type") is not None:
        rule = planted.from_json(metadata, meta_path, {x.motif for v in sites.values() for x in v})
        library = {m: Motif(m, np.asarray(p, dtype=np.float64)) for m, p in metadata["pwms"].items()}
        background = check_base_distribution(metadata.get("background_dist", [0.25] * 4))
    files = tuple(name for name in DataFolder.FILES if (folder / name).exists())
    return Dataset(folder, ids, seqs, labels, sites, metadata, digest.hexdigest(), files, rule, library,
                   background, str(metadata.get("motif_sampling") or "pwm"), _match_thresholds(metadata),
                   target_of(labels), sequences_sha256=sequences_sha256)


def _match_thresholds(metadata: dict) -> dict:
    """metadata.json's chance_matches per motif -> {motif: (threshold score, share of draws kept)}:
    what an instance must score to count as one, as the generator drew them."""
    out = {}
    for name, m in ((metadata.get("chance_matches") or {}).get("motifs") or {}).items():
        try:
            out[name] = (float(m["threshold_score"]), float(m["share_of_pwm_draws_kept"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def metadata_target(metadata: dict, path: str | os.PathLike = DataFolder.METADATA) -> str:
    """metadata.json's ``target``: ``"class"`` (also when absent or null) or ``"activity"``."""
    target = metadata.get("target")
    if target is None:
        return "class"
    if target not in TARGETS:
        raise InputError(f"{path} names target {str(target)[:40]!r}; the targets are class (0/1 labels) "
                         f"and activity (real-valued labels)")
    return target


def load_fasta_input(fasta: str | os.PathLike, labels: str | os.PathLike | None = None,
                     same_length: bool = True) -> Dataset:
    """Sequences from elsewhere: a FASTA file (plain or gzipped, one length unless ``same_length``
    is False, N allowed) and
    optionally a labels TSV (``id<TAB>label``) naming exactly its sequences. No sites, no
    metadata; ``labels`` is None without a labels file; labels all written 0 or 1 are a
    class target, any other finite numbers an activity (:func:`utils.seqfiles.read_labels`);
    ``checksum`` covers the FASTA's bytes, then the labels file's."""
    fasta = Path(fasta)
    if not fasta.is_file():
        raise InputError(f"--seq_dict {fasta} does not exist; give a data folder or a FASTA file")
    digest = hashlib.sha256()
    raw = read_bytes(fasta)
    digest.update(raw)
    ids, seqs = read_fasta(fasta, raw, same_length)
    sequences_sha256 = hashlib.sha256(raw).hexdigest()
    del raw
    values, notes = None, []
    if labels is not None:
        raw = read_bytes(labels)
        digest.update(raw)
        label_ids, values = read_labels(labels, raw, target=None)
        missing, extra = set(ids) - set(label_ids), set(label_ids) - set(ids)
        if missing:
            raise InputError(f"--labels {labels} does not match {fasta.name}: {sorted(missing)[0]!r} is "
                             f"missing from the labels ({len(missing)} sequences of the FASTA have none); give "
                             f"one label per sequence of the FASTA")
        if extra and not set(ids) & set(label_ids):
            raise InputError(f"--labels {labels} names none of the sequences of {fasta.name} (e.g. "
                             f"{sorted(extra)[0]!r}); give the labels of this FASTA")
        if extra:      # a labels table of a larger set (a whole genome's, a paper's): the FASTA's rows
            notes.append(f"note: --labels {Path(labels).name} lists {len(extra)} sequences that are not in "
                         f"{fasta.name}; their labels are not used")
        order = {k: i for i, k in enumerate(label_ids)}
        values = values[[order[k] for k in ids]]
    return Dataset(fasta.parent, ids, seqs, values, {}, {}, digest.hexdigest(), target=target_of(values),
                   notes=tuple(notes), sequences_sha256=sequences_sha256)


# ----------------------------------------------------------------------------- model folder
@dataclass(frozen=True)
class Predictions:
    """A predictions TSV (``id split label prob``, a regression's ``id split label pred``): one
    entry per row, in file order.

    ``split``: "test" for every row when the file has no split column; ``labels``,
    ``probs`` and ``preds``: (n,) float64, or None when the file lacks that column (a user's
    --preds file may name ids only; a regression's file has ``pred``, not ``prob``); an empty
    cell reads as NaN.
    """
    ids: list[str]
    split: list[str]
    labels: np.ndarray | None
    probs: np.ndarray | None
    preds: np.ndarray | None = None

    @property
    def test_ids(self) -> list[str]:
        return [i for i, s in zip(self.ids, self.split) if s == "test"]


def read_predictions(path: str | os.PathLike) -> Predictions:
    """A predictions TSV with at least an ``id`` column -> :class:`Predictions`."""
    cols = read_tsv(path, ["id"])
    n = len(cols["id"])

    def numbers(name: str) -> np.ndarray | None:
        if name not in cols:
            return None
        try:
            return np.array([float(v) if v.strip() else np.nan for v in cols[name]], dtype=np.float64)
        except ValueError:
            bad = next(v for v in cols[name] if v.strip() and not _is_number(v))
            raise InputError(f"{path}: column {name} holds {bad[:20]!r}, which is not a number; "
                             f"regenerate the predictions") from None

    return Predictions(cols["id"], cols.get("split", ["test"] * n), numbers("label"), numbers("prob"),
                       numbers("pred"))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_model_json(model_dir: str | os.PathLike) -> dict:
    """The model.json of a model folder written by Train_models.py -> dict (read once; hand it
    to :func:`utils.models.load` as ``meta``)."""
    folder = Path(model_dir)
    if not folder.is_dir():
        raise InputError(f"model folder {folder} does not exist; train one with Train_models.py "
                         f"or name an existing model folder")
    path = folder / ModelFolder.MODEL_JSON
    if not path.exists():
        raise InputError(f"{folder} has no valid {ModelFolder.MODEL_JSON}; it is not a model folder "
                         f"written by Train_models.py")
    return read_json(path)


@dataclass(frozen=True)
class ModelRecord:
    """A model folder's records, each file read once (the model file itself is
    :func:`utils.models.load`'s): ``meta`` is model.json, ``metrics`` metrics.json ({} when
    absent), ``predictions`` predictions.tsv (None when not asked for)."""
    directory: Path
    meta: dict
    metrics: dict
    predictions: Predictions | None


def read_model_folder(model_dir: str | os.PathLike, predictions: bool = True) -> ModelRecord:
    """Read model.json, metrics.json and (with ``predictions``) predictions.tsv of a model folder."""
    folder = Path(model_dir)
    meta = read_model_json(folder)
    metrics_path = folder / ModelFolder.METRICS
    metrics = read_json(metrics_path) if metrics_path.exists() else {}
    preds = read_predictions(folder / ModelFolder.PREDICTIONS) if predictions else None
    return ModelRecord(folder, meta, metrics, preds)

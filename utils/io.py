"""Files that pass between the steps: FASTA, TSV, BED, JSON; atomic writes; validation.

Every writer goes through a temporary name in the destination folder followed by a
rename, and whole output folders are staged (:func:`staged_dir`), so a crash or a
refused input never leaves a half-written file behind.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

FASTA_NAME = "sequences.fa"
LABELS_NAME = "labels.tsv"
SITES_NAME = "motif_sites.bed"
METADATA_NAME = "metadata.json"
DATA_FILES = (FASTA_NAME, LABELS_NAME, SITES_NAME, METADATA_NAME)


class InputError(ValueError):
    """Bad input from the user: the message is one sentence naming the problem and the fix.

    Raised for user input only; a broken internal invariant is a bug and keeps its traceback.
    """


# ----------------------------------------------------------------------------- shared checks
def check_base_distribution(values, flag: str = "--background_dist") -> np.ndarray:
    """Four finite, non-negative base frequencies pA pC pG pT summing to 1 (within 1e-6) -> float64 (4,).

    The one check of a base distribution for every script and module; raises InputError
    naming ``flag`` and a valid example.
    """
    try:
        dist = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        dist = np.full(1, np.nan)
    if dist.shape != (4,) or not np.all(np.isfinite(dist)) or np.any(dist < 0) or abs(dist.sum() - 1) > 1e-6:
        shown = " ".join(str(v) for v in np.atleast_1d(values)) if values is not None else "nothing"
        raise InputError(f"{flag} {shown} must be four non-negative numbers pA pC pG pT summing to 1, "
                         f"e.g. 0.25 0.25 0.25 0.25")
    return dist / dist.sum()


# ----------------------------------------------------------------------------- output folders
# What the three scripts write into their output folders: a folder holding one of the
# markers and nothing but these names is the suite's own, and --overwrite may replace it.
SUITE_MARKERS = (METADATA_NAME, "model.json", "summary.json")
SUITE_OUTPUTS = frozenset(DATA_FILES) | {
    "model.json", "model.keras", "model.skops", "split.tsv", "history.csv", "learning_curves.png",
    "metrics.json", "timing.json", "predictions.tsv", "interpretation.csv", "summary.json", "report.md",
    "distance_curve.csv", "distance_curve.png", "attribution_scores.csv", "attribution_scores.png",
    "logos", ".gitkeep"}


def _suite_output(name: str) -> bool:
    return name in SUITE_OUTPUTS or (name.startswith("attributions_") and name.endswith(".npz"))


def check_out_dir(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse, before any work, an output folder that cannot be (re)written.

    A folder that holds files is replaced only with ``overwrite`` and only when it is the
    suite's own output: it holds a marker (metadata.json, model.json or summary.json) and
    nothing but the files the scripts write. Anything else (say ``data/`` holding several
    datasets) is refused, so --overwrite never deletes what the suite did not write.
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
        foreign = [e for e in entries if not _suite_output(e)]
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


def _remove_stale_staging(out: Path) -> None:
    """Remove staging folders of ``out`` left by a process that no longer runs (a SIGKILL)."""
    prefix = f".{out.name}.tmp-"
    for stale in out.parent.glob(f"{prefix}*"):
        pid = stale.name[len(prefix):].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue                        # its process still runs: not ours to remove
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(stale, ignore_errors=True)
        print(f"note: removed {stale}, left by an interrupted run (process {pid})", file=sys.stderr)


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole.

    On any exception the temporary folder (and any parent folder made for it) is removed and
    ``path`` is left as it was. A full or read-only disk becomes one InputError line.
    """
    out = Path(path)
    made = [d for d in [out.parent, *out.parent.parents] if not d.exists()]
    tmp = None
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_staging(out)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
            yield tmp
            os.chmod(tmp, 0o755)
            _fsync_tree(tmp)
        except OSError as exc:
            if exc.errno in _DISK_ERRORS:
                raise InputError(f"--out_dir {out} cannot be written ({os.strerror(exc.errno)}); free "
                                 f"space or name a folder you can write to") from None
            raise
        old = None
        try:
            if out.exists():
                old = out.parent / f".{out.name}.old-{os.getpid()}"
                os.replace(out, old)
            os.replace(tmp, out)
        except BaseException:
            if old is not None and not out.exists():
                os.replace(old, out)            # roll back: the previous folder is put back whole
            raise
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in made:                    # innermost first: only the empty ones we made
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    _fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries (renames, new files) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` so a rename publishes complete data."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the same folder; renamed onto ``path`` on success."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)   # mkstemp makes 0600; outputs are ordinary readable files
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)      # data on disk before the rename makes it visible
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _no_constants(name: str):
    raise ValueError(f"holds {name}, which is not JSON")


def read_json(path: str | os.PathLike) -> dict:
    """A JSON file whose top level is an object -> dict; anything else is an InputError."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            obj = json.load(fh, parse_constant=_no_constants)
    except FileNotFoundError:
        raise InputError(f"{path} is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a JSON file") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise InputError(f"{path} is not valid JSON ({reason}); regenerate it") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path} holds a JSON {type(obj).__name__}, not an object; regenerate it")
    return obj


def write_tsv(path: str | os.PathLike, header: list[str], columns: list) -> None:
    """Write columns (equal-length sequences) as a tab-separated file with a header."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for row in zip(*columns):
            fh.write("\t".join(_cell(v) for v in row) + "\n")


def write_csv(path: str | os.PathLike, header: list[str], columns: list) -> None:
    """Write columns as a comma-separated file (RFC 4180 quoting) with a header."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([_cell(v) for v in row] for row in zip(*columns))


def write_rows(path: str | os.PathLike, columns: list[str], rows: list[dict]) -> None:
    """Write dict rows as CSV with ``columns`` as the header and column order."""
    write_csv(path, columns, [[r[c] for r in rows] for c in columns])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if np.isfinite(value) or np.isinf(value) else ""   # NaN -> empty
    return str(value)


def _text_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a text file (plain or gzipped), BOM and line ends (LF or CRLF) removed."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise InputError(f"{path} is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a file") from None
    if raw[:2] == b"\x1f\x8b":
        import gzip
        import zlib
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise InputError(f"{path} is a damaged gzip file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file (not UTF-8)") from None
    if "\x00" in text:
        raise InputError(f"{path} is not a text file (it holds NUL bytes)")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_tsv(path: str | os.PathLike, required: list[str]) -> dict[str, list[str]]:
    """Read a headed TSV into columns of strings, checking the required columns exist."""
    lines = _text_lines(path)
    if not lines or not lines[0].strip():
        raise InputError(f"{path} is empty; it needs a header naming {', '.join(required)}")
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    if len(set(header)) != len(header):
        raise InputError(f"{path} names a column twice in its header; give each column one name")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path} lacks the column(s) {', '.join(missing)}; "
                         f"its header must name {', '.join(required)}")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise InputError(f"{path} line {i + 2} has {len(row)} fields, expected {len(header)}")
    return {name: [row[j] for row in rows] for j, name in enumerate(header)}


# ----------------------------------------------------------------------------- FASTA
def read_fasta(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Read a FASTA file (plain or gzipped); sequences must use ACGTN and all have the same length."""
    ids: list[str] = []
    chunks: list[list[str]] = []
    for line in _text_lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            name = line[1:].split()[0] if line[1:].strip() else ""
            if not name:
                raise InputError(f"{path}: record {len(ids) + 1} has an empty id after '>'; "
                                 f"give every record an id")
            ids.append(name)
            chunks.append([])
        elif not chunks:
            raise InputError(f"{path} does not start with a '>' header; is it FASTA?")
        else:
            chunks[-1].append(line)
    if not ids:
        raise InputError(f"{path} holds no FASTA records")
    seqs = ["".join(c).upper() for c in chunks]
    allowed = set("ACGTN")
    lengths = set()
    for name, seq in zip(ids, seqs):
        bad = set(seq) - allowed
        if bad:
            raise InputError(f"{path}: sequence {name} has characters {''.join(sorted(bad))[:20]!r}; "
                             f"only A, C, G, T and N are allowed")
        if not seq:
            raise InputError(f"{path}: sequence {name} is empty; every record needs bases")
        lengths.add(len(seq))
    if len(lengths) != 1:
        raise InputError(f"{path}: sequences have unequal lengths ({min(lengths)} to {max(lengths)} bp); "
                         f"all must have the same length")
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: sequence ids are not unique; give every record its own id")
    return ids, seqs


# ----------------------------------------------------------------------------- labels and sites
def read_labels(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    cols = read_tsv(path, ["id", "label"])
    bad = sorted({v for v in cols["label"] if v.strip() not in ("0", "1")})
    if bad:
        shown = ", ".join(repr(v) if v.strip() else "an empty label" for v in bad[:3])
        raise InputError(f"{path}: labels must be 0 or 1, found {shown}")
    if len(set(cols["id"])) != len(cols["id"]):
        dup = next(i for i in cols["id"] if cols["id"].count(i) > 1)
        raise InputError(f"{path}: id {dup!r} has more than one label; give each sequence one row")
    return cols["id"], np.array([int(v) for v in cols["label"]], dtype=np.int8)


@dataclass(frozen=True)
class Site:
    """One planted motif instance: 0-based start, end exclusive."""
    seq_id: str
    start: int
    end: int
    motif: str
    strand: str = "+"


def bed_lines(seq_ids, starts, ends, motifs, strands="+") -> str:
    """BED6 text, one line per site: ``id start end motif 0 strand`` (0-based, end exclusive).

    Columns are equal-length sequences; ``strands`` may be one string for every line.
    """
    strands = [strands] * len(seq_ids) if isinstance(strands, str) else strands
    return "".join(f"{i}\t{s}\t{e}\t{m}\t0\t{d}\n" for i, s, e, m, d in zip(seq_ids, starts, ends, motifs, strands))


def read_bed(path: str | os.PathLike) -> list[Site]:
    """BED4+ rows -> Sites; 0 <= start < end, strand +, - or . (read as +)."""
    sites = []
    for n, line in enumerate(_text_lines(path), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        if len(f) < 4:
            raise InputError(f"{path} line {n} has {len(f)} fields; BED needs id start end motif")
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            raise InputError(f"{path} line {n}: start and end must be whole numbers") from None
        if start < 0 or end <= start:
            raise InputError(f"{path} line {n}: start {start} and end {end} must satisfy 0 <= start < end "
                             f"(0-based, end exclusive)")
        strand = f[5].strip() if len(f) > 5 and f[5].strip() else "+"
        if strand not in ("+", "-", "."):
            raise InputError(f"{path} line {n}: strand {strand[:10]!r} must be +, - or .")
        sites.append(Site(f[0], start, end, f[3], "+" if strand == "." else strand))
    return sites


def sites_by_id(sites: list[Site]) -> dict[str, list[Site]]:
    grouped: dict[str, list[Site]] = {}
    for s in sites:
        grouped.setdefault(s.seq_id, []).append(s)
    return grouped


# ----------------------------------------------------------------------------- data folder
@dataclass
class Dataset:
    """A data folder in memory: the sequences, their labels, planted sites and metadata."""
    directory: Path
    ids: list[str]
    seqs: list[str]
    labels: np.ndarray
    sites: dict[str, list[Site]] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    @property
    def seq_length(self) -> int:
        return len(self.seqs[0])


def resolve_data_path(path: str | os.PathLike) -> tuple[Path, Path]:
    """Accept a data folder or a FASTA path with labels.tsv beside it -> (folder, fasta)."""
    p = Path(path)
    if p.is_dir():
        fasta = p / FASTA_NAME
        if not fasta.exists():
            raise InputError(f"data folder {p} has no {FASTA_NAME}; run Generate_sequences.py "
                             f"--out_dir {p} first or name another folder")
        return p, fasta
    if p.is_file():
        return p.parent, p
    raise InputError(f"data {p} does not exist; run Generate_sequences.py first or name the data folder")


def load_dataset(path: str | os.PathLike, need_sites: bool = False) -> Dataset:
    """Read and cross-check a data folder (or FASTA + labels.tsv beside it)."""
    folder, fasta = resolve_data_path(path)
    labels_path = folder / LABELS_NAME
    if not labels_path.exists():
        raise InputError(f"data folder {folder} has no {LABELS_NAME}; it must hold 'id<TAB>label' rows")
    ids, seqs = read_fasta(fasta)
    label_ids, labels = read_labels(labels_path)
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
    sites_path = folder / SITES_NAME
    if sites_path.exists():
        sites = sites_by_id(read_bed(sites_path))
    elif need_sites:
        raise InputError(f"data folder {folder} has no {SITES_NAME}; interpretation needs the planted "
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
    meta_path = folder / METADATA_NAME
    metadata = read_json(meta_path) if meta_path.exists() else {}
    if need_sites and not metadata:
        raise InputError(f"data folder {folder} has no {METADATA_NAME}; interpretation needs the "
                         f"planted rule written by Generate_sequences.py")
    if need_sites:
        check_rule_metadata(metadata, meta_path, {x.motif for v in sites.values() for x in v})
    return Dataset(folder, ids, seqs, labels, sites, metadata)


def load_fasta_input(fasta: str | os.PathLike, labels: str | os.PathLike | None = None) -> Dataset:
    """Sequences from elsewhere: a FASTA file (plain or gzipped, one length, N allowed) and
    optionally a labels TSV (``id<TAB>label``) naming exactly its sequences. No sites, no
    metadata; ``labels`` is None without a labels file."""
    fasta = Path(fasta)
    if not fasta.is_file():
        raise InputError(f"--seq_dict {fasta} does not exist; give a data folder or a FASTA file")
    ids, seqs = read_fasta(fasta)
    values = None
    if labels is not None:
        label_ids, values = read_labels(labels)
        missing, extra = set(ids) - set(label_ids), set(label_ids) - set(ids)
        if missing or extra:
            example = sorted(missing)[0] if missing else sorted(extra)[0]
            raise InputError(f"--labels {labels} does not match {fasta.name}: {example!r} is "
                             f"{'missing from the labels' if missing else 'not in the FASTA'}; give one "
                             f"label per sequence of the FASTA")
        order = {k: i for i, k in enumerate(label_ids)}
        values = values[[order[k] for k in ids]]
    return Dataset(fasta.parent, ids, seqs, values, {}, {})


GEN_TYPES = ("presence", "order", "distance")


def check_rule_metadata(meta: dict, path, site_motifs: set[str]) -> None:
    """The planted-rule fields interpretation reads from metadata.json, each checked once."""
    def bad(what: str) -> InputError:
        return InputError(f"{path}: {what}; regenerate the data with Generate_sequences.py")

    if meta.get("gen_type") not in GEN_TYPES:
        raise bad(f"gen_type {meta.get('gen_type')!r} is not one of {', '.join(GEN_TYPES)}")
    pwms = meta.get("pwms")
    if not isinstance(pwms, dict) or not pwms:
        raise bad("it holds no motif pwms")
    for name, rows in pwms.items():
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise bad(f"the pwm of {name} is not a table of numbers") from None
        if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1 or not np.all(np.isfinite(arr)) \
                or np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1) > 1e-3):
            raise bad(f"the pwm of {name} is not rows of four probabilities summing to 1")
    pos = meta.get("pos_motifs")
    if not isinstance(pos, list) or not pos or any(not isinstance(m, str) or m not in pwms for m in pos):
        raise bad("pos_motifs must list motifs that have a pwm")
    if meta["gen_type"] in ("order", "distance") and len(pos) != 2:
        raise bad(f"a {meta['gen_type']} rule needs exactly two pos_motifs")
    if meta["gen_type"] == "distance":
        lo, hi = meta.get("min_dist"), meta.get("max_dist")
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise bad("a distance rule needs whole numbers 0 <= min_dist <= max_dist")
    dist = meta.get("background_dist", [0.25] * 4)
    check_base_distribution(dist, f"background_dist in {path}")
    unknown = sorted(site_motifs - set(pwms))
    if unknown:
        raise bad(f"motif_sites.bed names {unknown[0]!r}, which has no pwm")


def checksum_files(paths: list[Path]) -> str:
    """sha256 over the files' bytes, in the order given (provenance of a data folder)."""
    digest = hashlib.sha256()
    for p in paths:
        if p.exists():
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()

"""Shared file plumbing: the user-input error, atomic writes, staged folders, JSON and TSV.

Every writer goes through a temporary name in the destination folder followed by a
rename, and whole output folders are staged (:func:`staged_dir`), so a crash or a
refused input never leaves a half-written file behind. What each folder holds is named
in :mod:`utils.folders`; FASTA, labels and BED are read and written in :mod:`utils.seqfiles`.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


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
def staged_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it is moved into place whole.

    Without ``overwrite`` the move is one rename(2), which fails when ``path`` has become a
    non-empty folder meanwhile (another run wrote it while this one ran): this run's staged
    files are then removed, the other run's folder is left untouched, and the loss is one
    InputError line. A folder that is missing, empty or holds only ``.gitkeep`` is taken.
    With ``overwrite`` an existing ``path`` is replaced whole (put back if the swap fails).
    Either move runs under an exclusive flock on the parent folder, so two swaps into one
    folder never interleave. On any exception the temporary folder (and any parent folder
    made for it) is removed and ``path`` is left as it was. A full or read-only disk becomes
    one InputError line.
    """
    out = Path(path)
    made = [d for d in [out.parent, *out.parent.parents] if not d.exists()]
    tmp = None
    old = None
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
        with _parent_lock(out.parent):
            old = _move_into_place(tmp, out, overwrite)
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


_TAKEN = {errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR}


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> Path | None:
    """Rename the staged folder onto ``out`` -> the displaced folder (to delete), or None."""
    if not overwrite:
        try:
            os.rename(tmp, out)         # atomic: onto a missing or empty folder only
            return None
        except OSError as exc:
            if exc.errno not in _TAKEN:
                raise
            if not _only_gitkeep(out):
                raise InputError(f"--out_dir {out} was written by another run while this one ran; its "
                                 f"files are kept and this run's discarded: rerun with --overwrite or "
                                 f"name another folder") from None
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
    return old


def _only_gitkeep(out: Path) -> bool:
    """A folder holding nothing but ``.gitkeep`` counts as free (as check_out_dir says)."""
    try:
        return out.is_dir() and [p.name for p in out.iterdir()] == [".gitkeep"]
    except OSError:
        return False


@contextlib.contextmanager
def _parent_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock(2) on ``folder`` itself: no lock file is left behind. Where the file
    system refuses flock, the rename's own atomicity is what remains."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)             # closing releases the lock


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


def read_bytes(path: str | os.PathLike, what: str = "file") -> bytes:
    """A file's bytes, as on disk; a missing file or a folder is an InputError."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputError(f"{path} is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a {what}") from None


def read_json(path: str | os.PathLike, raw: bytes | None = None) -> dict:
    """A JSON file whose top level is an object -> dict; anything else is an InputError.

    ``raw``: the file's bytes when the caller has read them already (not read again).
    """
    if raw is None:
        raw = read_bytes(path, "JSON file")
    try:
        # as text mode reads it: utf-8-sig, universal newlines
        text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        obj = json.loads(text, parse_constant=_no_constants)
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


def read_lines(path: str | os.PathLike, raw: bytes | None = None) -> list[str]:
    """Lines of a text file (plain or gzipped), BOM and line ends (LF or CRLF) removed.

    ``raw``: the file's bytes when the caller has read them already (not read again).
    """
    if raw is None:
        raw = read_bytes(path)
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


def read_tsv(path: str | os.PathLike, required: list[str], raw: bytes | None = None) -> dict[str, list[str]]:
    """Read a headed TSV into columns of strings, checking the required columns exist.

    ``raw``: the file's bytes when the caller has read them already (not read again).
    """
    lines = read_lines(path, raw)
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

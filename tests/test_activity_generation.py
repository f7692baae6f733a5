"""Generate_sequences.py --target activity: real-valued labels that follow from motif_sites.bed and
metadata.json alone, a design with every kind of sequence equally common, noise of the stated
sd, the planted rule carrying its activity terms, and class targets byte-identical to before.

Labels are read from labels.tsv directly (the labels reader is not this test's subject), and
recomputed here from the BED and metadata.json with code of its own, not the generator's."""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import numpy as np
import pytest

import Generate_sequences
from utils import activity as activitylib
from utils import cli, planted, simulate
from utils.folders import load_dataset

THREE = ["--motifs", "STAT_known2", "CTCF_known1", "GATA_known1"]


def generate(out, *flags):
    assert Generate_sequences.main([*map(str, flags), "--out_dir", str(out), "--quiet"]) == 0
    return out


def read_labels_text(folder) -> list[tuple[str, str]]:
    lines = (folder / "labels.tsv").read_text().splitlines()
    assert lines[0] == "id\tlabel"
    return [tuple(line.split("\t")) for line in lines[1:]]


def read_sites(folder) -> dict[str, list[tuple[int, int, str]]]:
    sites: dict[str, list] = {}
    for line in (folder / "motif_sites.bed").read_text().splitlines():
        sid, start, end, motif, _, _ = line.split("\t")
        sites.setdefault(sid, []).append((int(start), int(end), motif))
    return sites


def arrangement(meta, sites) -> bool:
    """Does the rule's arrangement hold in one sequence's planted sites (metadata.json alone)?"""
    pos = meta["pos_motifs"]
    names = [m for _, _, m in sites]
    if meta["gen_type"] == "presence":
        return meta["presence_logic"] == "all" and len(pos) > 1 and all(p in names for p in pos)
    if names.count(pos[0]) != 1 or names.count(pos[1]) != 1:
        assert names.count(pos[0]) <= 1 and names.count(pos[1]) <= 1
        return False
    a = next(s for s in sites if s[2] == pos[0])
    b = next(s for s in sites if s[2] == pos[1])
    if meta["gen_type"] == "order":
        return a[0] < b[0]
    first, second = sorted([a, b])
    return meta["min_dist"] <= second[0] - first[1] <= meta["max_dist"]


def recompute(folder) -> tuple[list[str], np.ndarray]:
    """Every noise-free label from motif_sites.bed + metadata.json alone -> (ids, values)."""
    meta = json.loads((folder / "metadata.json").read_text())
    act = meta["activity"]
    sites = read_sites(folder)
    ids = [sid for sid, _ in read_labels_text(folder)]
    values = []
    for sid in ids:
        here = sites.get(sid, [])
        value = sum(act["effects"].get(m, 0.0) for _, _, m in here)
        if arrangement(meta, here):
            value += act["interaction"]
        values.append(value)
    return ids, np.array(values)


def kind_of(meta, sites) -> str:
    """The design's kind of one sequence, from its sites (utils.activity's kind names)."""
    pos = meta["pos_motifs"]
    names = {m for _, _, m in sites}
    if meta["gen_type"] == "presence":
        return "+".join(p for p in pos if p in names) or "none"
    has = [p in names for p in pos]
    if not any(has):
        return "neither"
    if not all(has):
        return f"{pos[has.index(True)]} only"
    return "both, arrangement holds" if arrangement(meta, sites) else "both, arrangement fails"


CASES = {
    "presence any": ["--motifs", "STAT_known2", "CTCF_known1", "GATA_known1", "--pos_motifs", "STAT_known2",
                     "GATA_known1", "--effects", "STAT_known2=2", "GATA_known1=-0.7", "CTCF_known1=0"],
    "presence all, 3 copies": [*THREE, "--pos_motifs", "STAT_known2", "GATA_known1", "--presence_logic", "all",
                               "--effects", "STAT_known2=1.25", "GATA_known1=0.3", "--interaction", "1.5",
                               "--max_copies", "3", "--strand", "both"],
    "order": ["--gen_type", "order", "--effects", "STAT_known2=2", "CTCF_known1=0.5", "--interaction", "-1"],
    "distance": [*THREE, "--gen_type", "distance", "--seq_length", "250", "--min_dist", "15", "--max_dist", "35"],
    "distance, simdna": ["--gen_type", "distance", "--engine", "simdna", "--interaction", "2.5"],
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_labels_follow_exactly_from_bed_and_metadata(tmp_path, case):
    n = 100 if "simdna" in case else 800
    out = generate(tmp_path / "d", "--target", "activity", "--noise_sd", 0, "--num_seqs", n, "--seed", 4,
                   *CASES[case])
    rows = read_labels_text(out)
    assert all(re.fullmatch(r"-?\d+\.\d{6}", v) for _, v in rows)        # "%.6f", nothing else
    ids, values = recompute(out)
    assert ids == [f"seq_{i:07d}" for i in range(n)]
    assert [v for _, v in rows] == [f"{v:.6f}" for v in values]             # exact, to the 6 decimals
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["target"] == "activity" and "class_counts" not in meta
    # the design: every kind equally common, counts as metadata.json states them
    sites = read_sites(out)
    counts = Counter(kind_of(meta, sites.get(i, [])) for i in ids)
    design = meta["activity"]["design"]
    names = list(design["counts"])
    assert dict(counts) == design["counts"]
    assert len(names) == {"presence": 4}.get(meta["gen_type"], 5)        # n divides evenly: exact counts
    assert design["counts"] == {k: n // len(names) for k in names}
    assert design["shares"] == {k: round(1 / len(names), 6) for k in names}
    # the planted rule carries its terms, and reads back from metadata.json as written
    rule = planted.from_json(meta)
    assert rule.target == "activity" and rule.activity.noise_sd == 0
    assert rule.activity.effect_map == meta["activity"]["effects"]
    assert meta["rule"] == rule.describe() == meta["activity"]["definition"]
    # and the generator's own function gives the same labels from the same sites
    flat = [(k, *s) for k, i in enumerate(ids) for s in sites.get(i, [])]
    rows_, starts, ends, motifs = (np.array(v) for v in zip(*flat))
    np.testing.assert_array_equal(
        activitylib.rounded(activitylib.noise_free(rule, n, rows_, starts, ends, motifs)),
        np.array([float(v) for _, v in rows]))


def test_terms_in_metadata_defaults_and_rule_round_trip(tmp_path):
    out = generate(tmp_path / "d", "--target", "activity", "--num_seqs", 50, *THREE, "--pos_motifs",
                   "STAT_known2", "GATA_known1", "--presence_logic", "all")
    meta = json.loads((out / "metadata.json").read_text())
    act = meta["activity"]
    assert act["effects"] == {"STAT_known2": 1.0, "CTCF_known1": 0.0, "GATA_known1": 1.0}
    assert (act["interaction"], act["noise_sd"], act["max_copies"]) == (1.0, 0.2, 1)
    assert act["interaction_applies"] == "every one of STAT_known2, GATA_known1 is present"
    assert meta["parameters"]["target"] == "activity" and meta["parameters"]["noise_sd"] is None
    config = simulate.SimulationConfig(num_seqs=50, target="activity", motifs=tuple(THREE[1:]),
                                       pos_motifs=("STAT_known2", "GATA_known1"), presence_logic="all")
    truth = simulate.resolve_rule(config).truth
    assert planted.from_json(meta) == truth and hash(truth) == hash(planted.from_json(meta))
    assert truth.activity == planted.Activity(effects=(("STAT_known2", 1.0), ("CTCF_known1", 0.0),
                                                       ("GATA_known1", 1.0)), interaction=1.0, noise_sd=0.2)
    # presence any has no interaction; order and distance default to 1.0
    for flags, interaction in ((["--gen_type", "presence"], 0.0), (["--gen_type", "order"], 1.0),
                               (["--gen_type", "distance"], 1.0)):
        o = generate(tmp_path / flags[1], "--target", "activity", "--num_seqs", 20, *flags)
        a = json.loads((o / "metadata.json").read_text())["activity"]
        assert a["interaction"] == interaction and (a["interaction_applies"] is None) == (interaction == 0)


def test_noise_has_mean_zero_and_the_stated_sd(tmp_path):
    n, sd = 4000, 0.5
    out = generate(tmp_path / "d", "--target", "activity", "--gen_type", "distance", "--noise_sd", sd,
                   "--num_seqs", n, "--seed", 8)
    _, clean = recompute(out)
    labels = np.array([float(v) for _, v in read_labels_text(out)])
    residual = labels - clean
    # 5 standard errors: the mean's is sd / sqrt(n), the sd's about sd / sqrt(2 n)
    assert abs(residual.mean()) < 5 * sd / np.sqrt(n)
    assert abs(residual.std(ddof=1) - sd) < 5 * sd / np.sqrt(2 * n)
    # the same seed gives the same bytes; another seed other noise
    again = generate(tmp_path / "e", "--target", "activity", "--gen_type", "distance", "--noise_sd", sd,
                     "--num_seqs", n, "--seed", 8)
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (out / f).read_bytes() == (again / f).read_bytes()


def test_copies_carry_the_dose_and_fill_their_slots_with_lookalikes(tmp_path):
    n = 1200
    out = generate(tmp_path / "d", "--target", "activity", "--max_copies", 3, "--noise_sd", 0,
                   "--num_seqs", n, "--seed", 2)
    sites = read_sites(out)
    copies = Counter()
    for i in range(n):
        names = [m for _, _, m in sites.get(f"seq_{i:07d}", [])]
        c = names.count("STAT_known2")
        assert c + names.count("STAT_known2_shuffled") == 3         # every slot filled
        copies[c] += 1
    assert copies[0] == n // 2                                      # absent from exactly half
    for c in (1, 2, 3):                                             # 1-3 copies equally often
        assert abs(copies[c] - n / 6) < 4 * np.sqrt(n / 6)
    labels = [float(v) for _, v in read_labels_text(out)]
    assert sorted(set(labels)) == [0.0, 1.0, 2.0, 3.0]


def test_order_and_distance_kinds_are_arranged_as_named(tmp_path):
    for gen_type in ("order", "distance"):
        out = generate(tmp_path / gen_type, "--target", "activity", "--gen_type", gen_type, "--num_seqs", 500,
                       "--noise_sd", 0)
        meta = json.loads((out / "metadata.json").read_text())
        sites = read_sites(out)
        for sid, here in sites.items():
            names = [m for _, _, m in here]
            # the pair's two slots are always filled: a missing motif leaves its look-alike
            assert sum(m.startswith(("STAT_known2", "CTCF_known1")) for m in names) == 2
        orders = Counter()
        for here in sites.values():
            names = [m for _, _, m in sorted(here)]
            if "STAT_known2" in names and "CTCF_known1" in names:
                orders[(arrangement(meta, here), names.index("STAT_known2") < names.index("CTCF_known1"))] += 1
        if gen_type == "order":      # the arrangement is A before B
            assert set(orders) == {(True, True), (False, False)}
        else:                        # either order, in and outside the window
            assert all(orders[k] > 20 for k in ((True, True), (True, False), (False, True), (False, False)))


# class targets: golden digests of main's bytes before activity targets existed (metadata.json is
# compared without "versions", which records the packages installed)
GOLDEN = {
    "all": (["--num_seqs", 400, "--seed", 21, *THREE, "--pos_motifs", "STAT_known2", "GATA_known1",
             "--presence_logic", "all", "--strand", "both"],
            {"labels.tsv": "71d9d31ad2148ae2b8d06834052cd1061e3e727cb1aced68e70b0c6a2f9b7234",
             "motif_sites.bed": "0c1c492ae5146d9b3a1d2dbc2c074f06033a41374b561de2144fcef2bf04242f",
             "sequences.fa": "30ea9cb89d53ff0fd8ad6607c58d3da9f61801aed058395419cb701676219db5",
             "metadata": "26541dc6e34f781ad0c86e2a0ee9159bbae359a8ec2ec35371250512fcf8d250"}),
    "simdna": (["--num_seqs", 100, "--seed", 22, "--engine", "simdna", "--gen_type", "order"],
               {"labels.tsv": "a50583b0a5bb098c11d6b9c28b43ed97097ea6b0ec81e6d61c614b5af69b6bb3",
                "motif_sites.bed": "555bfefef939c9402a98556cb5be26c49ffecf65c8439175681dc1d4241b1d98",
                "sequences.fa": "1d52c1504b4f17c4a26ee37635053f3fc0534ed5090adb4bca5475ef8705baba",
                "metadata": "a2b16d8d758502b102c4eb52db8d80bc696f74a443da672ce7f5b4cfe215fb52"}),
}


def class_digests(folder) -> dict[str, str]:
    out = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest()
           for f in ("labels.tsv", "motif_sites.bed", "sequences.fa")}
    meta = json.loads((folder / "metadata.json").read_text())
    meta.pop("versions")
    out["metadata"] = hashlib.sha256(json.dumps(meta).encode()).hexdigest()
    return out


@pytest.mark.parametrize("name", GOLDEN)
def test_class_target_files_are_byte_identical_to_before(tmp_path, name):
    flags, golden = GOLDEN[name]
    assert class_digests(generate(tmp_path / "a", *flags)) == golden
    explicit = generate(tmp_path / "b", *flags, "--target", "class")
    for f in ("labels.tsv", "motif_sites.bed", "sequences.fa", "metadata.json"):
        assert (tmp_path / "a" / f).read_bytes() == (explicit / f).read_bytes()
    meta = json.loads((explicit / "metadata.json").read_text())
    assert "target" not in meta and "activity" not in meta and "target" not in meta["parameters"]
    data = load_dataset(explicit)
    assert data.rule.target == "class" and data.rule.activity is None


def run_cli(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.run(Generate_sequences.main, argv)
    return exc.value.code, capsys.readouterr().err


ACT = ["--target", "activity"]


@pytest.mark.parametrize("flags,needle", [
    ([*ACT, "--effects", "STAT_known2"], "is not NAME=NUMBER"),
    ([*ACT, "--effects", "STAT_known2=two"], "is not a number"),
    ([*ACT, "--effects", "STAT_known2=nan"], "not a finite number"),
    ([*ACT, "--effects", "STAT_known2=inf"], "not a finite number"),
    ([*ACT, "--effects", "GATA_known1=1"], "not among --motifs"),
    ([*ACT, "--effects", "STAT_known2=1", "STAT_known2=2"], "more than once"),
    ([*ACT, "--effects", "CTCF_known1=0.5"], "gives decoy CTCF_known1 an effect"),
    ([*ACT, "--noise_sd", "-0.1"], "--noise_sd -0.1 must be a finite number, 0 or more"),
    ([*ACT, "--noise_sd", "inf"], "--noise_sd inf must be"),
    ([*ACT, "--max_copies", "0"], "--max_copies 0 is below 1"),
    (["--max_copies", "0"], "--max_copies 0 is below 1"),
    ([*ACT, "--gen_type", "order", "--max_copies", "2"], "applies to presence rules only"),
    ([*ACT, "--interaction", "2"], "cannot apply"),
    ([*ACT, "--interaction", "nan"], "--interaction nan is not a finite number"),
    ([*ACT, "--pos_fraction", "0.3"], "applies to class targets only"),
    ([*ACT, "--seq_length", "60", "--max_copies", "3"], "cannot hold"),
    (["--effects", "STAT_known2=2"], "--effects applies to activity targets only; add --target activity"),
    (["--target", "class", "--interaction", "1"], "--interaction applies to activity targets only"),
    (["--noise_sd", "0.2"], "--noise_sd applies to activity targets only"),
    (["--max_copies", "2"], "--max_copies applies to activity targets only"),
    (["--target", "regression"], "--target"),
])
def test_bad_activity_input_one_line_exit_2_nothing_written(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, [*flags, "--num_seqs", "50", "--out_dir", str(out)])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert list(tmp_path.iterdir()) == []


def test_kind_counts_are_exact_across_chunks_and_threads(tmp_path, monkeypatch):
    """301 sequences in 5 chunks of 64: the five kinds hold 61, 60, 60, 60, 60 in all, on worker
    threads as on one."""
    monkeypatch.setattr(simulate, "CHUNK", 64)
    a = generate(tmp_path / "a", "--target", "activity", "--gen_type", "order", "--num_seqs", 301, "--seed", 3)
    monkeypatch.setattr(simulate.cores, "count", lambda: 1)
    b = generate(tmp_path / "b", "--target", "activity", "--gen_type", "order", "--num_seqs", 301, "--seed", 3)
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (a / f).read_bytes() == (b / f).read_bytes()
    meta = json.loads((a / "metadata.json").read_text())
    assert list(meta["activity"]["design"]["counts"].values()) == [61, 60, 60, 60, 60]
    sites = read_sites(a)
    assert Counter(kind_of(meta, sites.get(f"seq_{i:07d}", [])) for i in range(301)) \
        == meta["activity"]["design"]["counts"]


@pytest.mark.parametrize("edit,needle", [
    (lambda m: m.update(target="regression"), "target 'regression' is not one of class, activity"),
    (lambda m: m.pop("activity"), "holds no activity object"),
    (lambda m: m["activity"]["effects"].update(STAT_known2="1"), "effects must map motif names to finite numbers"),
    (lambda m: m["activity"]["effects"].update(NOT_PLANTED=1.0), "'NOT_PLANTED', which is not among motifs"),
    (lambda m: m["activity"].update(interaction=None), "interaction must be a finite number"),
    (lambda m: m["activity"].update(noise_sd=-1), "noise_sd must be a finite number, 0 or more"),
    (lambda m: m["activity"].update(max_copies=2), "max_copies must be a whole number"),
])
def test_metadata_activity_object_is_checked_when_read(tmp_path, edit, needle):
    out = generate(tmp_path / "d", "--target", "activity", "--gen_type", "order", "--num_seqs", 20)
    meta = json.loads((out / "metadata.json").read_text())
    edit(meta)
    with pytest.raises(planted.InputError, match=re.escape(needle)):
        planted.from_json(meta)

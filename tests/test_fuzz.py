"""Fuzzing every reader of user files: a correct parse or one InputError line, never another exception.

Run briefly in `make test` (profile "ci") and at length with `make fuzz` (profile "fuzz").
"""
from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, strategies as st

from utils import cli, io as dio, models, motif_formats, motifs, planted, seqfiles
from utils.io import InputError

TOKENS = ["\t", "\n", "\r\n", ">", "#", " ", "id", "label", "0", "1", "-1", "2", "nan", "inf", "1e400",
          "ACGT", "acgtn", "NNNN", "X", "é", "\ufeff", "\x00", "seq_0000000", "+", "-", ".", "MOTIF",
          "letter-probability matrix", "0.25 0.25 0.25 0.25", "0.5 0.5 0 0", "1 1 1 1", "[", "]", "{",
          "}", '"', ":", ",", "null", "true"]
texty = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
blobs = st.one_of(texty.map(lambda t: t.encode("utf-8")), st.binary(max_size=200),
                  texty.map(lambda t: gzip.compress(t.encode("utf-8"))))


def contract(fn, data: bytes, name: str = "f"):
    """Call ``fn(path)`` on a file holding ``data``: it may return or raise InputError, nothing else,
    and an InputError message is one line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return fn(path)
        except InputError as exc:
            assert "\n" not in str(exc) and str(exc)
            return None


@given(blobs)
def test_fasta_reader(data):
    result = contract(seqfiles.read_fasta, data, "x.fa")
    if result is not None:
        ids, seqs = result
        assert len(ids) == len(seqs) == len(set(ids)) and len({len(s) for s in seqs}) == 1
        assert all(set(s) <= set("ACGTN") for s in seqs)


@given(blobs)
def test_labels_reader(data):
    result = contract(seqfiles.read_labels, data, "labels.tsv")
    if result is not None:
        ids, labels = result
        assert len(ids) == len(labels) and set(labels.tolist()) <= {0, 1}


@given(blobs)
def test_labels_reader_telling_the_target(data):
    result = contract(lambda path: seqfiles.read_labels(path, target=None), data, "labels.tsv")
    if result is not None:
        ids, labels = result
        assert len(ids) == len(labels) and np.all(np.isfinite(labels))
        assert labels.dtype == np.float64 or set(labels.tolist()) <= {0, 1}


@given(blobs)
def test_bed_reader(data):
    result = contract(seqfiles.read_bed, data, "sites.bed")
    if result is not None:
        assert all(0 <= s.start < s.end and s.strand in "+-" for s in result)


@given(blobs)
def test_json_reader(data):
    result = contract(dio.read_json, data, "metadata.json")
    assert result is None or isinstance(result, dict)


@given(blobs)
def test_meme_reader(data):
    result = contract(motifs.read_meme, data, "motifs.meme")
    if result is not None:
        for m in result.values():
            assert m.pwm.ndim == 2 and m.pwm.shape[1] == 4 and np.all(np.isfinite(m.pwm))
        valid_motif_library(result)


def valid_motif_library(result) -> None:
    """What a motif reader accepts is a library every later step can use."""
    for motif_id, m in result.items():
        assert m.name == motif_id and motif_id not in m.names
        assert m.pwm.ndim == 2 and m.pwm.shape[1] == 4 and m.pwm.shape[0] >= motifs.MIN_MOTIF_LENGTH
        assert np.all(np.isfinite(m.pwm)) and np.all(m.pwm > 0)
        np.testing.assert_allclose(m.pwm.sum(axis=1), 1, atol=1e-9)


# a valid file of each format (tests/test_motif_files.py's writers), then cut, doubled and spliced
_PWM = np.array([[0.7, 0.1, 0.1, 0.1], [0.05, 0.8, 0.1, 0.05], [0.1, 0.1, 0.7, 0.1], [0.2, 0.2, 0.1, 0.5]])
VALID_MOTIF_FILES = [motif_formats.write_motifs([motif_formats.MotifRecord("MA1.1", ("NAME",), _PWM),
                                                 motif_formats.MotifRecord("MA2.1", ("NAME",), _PWM[::-1])],
                                                fmt, decimals=3)
                     for fmt in motif_formats.FORMATS]
MOTIF_TOKENS = ["\t", "\n", " ", ">", "MA1.1", "NAME", "A", "C", "G", "T", "U", "[", "]", ":", "0", "1", "-1",
                "0.25", "nan", "inf", "1e400", "MOTIF", "letter-probability matrix: w= 4", "ALPHABET= ACGU",
                "P0", "PO", "ID", "NA", "AC", "XX", "//", "01", "#", "\ufeff", "\x00"]


@st.composite
def motif_file_edits(draw):
    text = draw(st.sampled_from(VALID_MOTIF_FILES))
    for _ in range(draw(st.integers(0, 4))):
        i, j = sorted(draw(st.integers(0, len(text))) for _ in range(2))
        if draw(st.booleans()):
            text = text[:i] + draw(st.lists(st.sampled_from(MOTIF_TOKENS), max_size=4).map("".join)) + text[j:]
        else:
            text = text[:i] + text[j:]
    return text.encode("utf-8")


@given(st.one_of(motif_file_edits(), st.lists(st.sampled_from(MOTIF_TOKENS), max_size=60)
                 .map(lambda t: "".join(t).encode("utf-8"))))
def test_motif_file_readers(data):
    for name in ("m.jaspar", "m.txt"):          # the content decides, whatever the name
        result = contract(motifs.read_meme, data, name)
        if result is not None:
            valid_motif_library(result)


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


@given(st.dictionaries(st.sampled_from(["gen_type", "pos_motifs", "pwms", "min_dist", "max_dist",
                                        "background_dist", "motifs", "decoy_motifs", "lookalike_motifs",
                                        "presence_logic", "gap_limit"]), json_values, max_size=11))
def test_rule_metadata_check(meta):
    try:
        rule = planted.from_json(meta, "metadata.json")
    except InputError as exc:
        assert "\n" not in str(exc)
    else:        # what was accepted is a rule every later step can use
        assert rule.kind == meta["gen_type"] and rule.describe() and rule.required()
        assert all(isinstance(m, str) for m in rule.motifs + rule.decoy_motifs)


@given(st.dictionaries(st.sampled_from(["kind", "input_length", "alphabet", "k"]), json_values, max_size=4))
def test_model_json(meta):
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "model.json").write_text(json.dumps(meta))
        try:
            models.load(tmp)
        except InputError as exc:
            assert "\n" not in str(exc)


VALIDATORS = [cli.positive_int, cli.non_negative_int, cli.positive_float, cli.open_unit_float,
              cli.boolean, cli.seed_value]


@given(st.sampled_from(VALIDATORS), st.one_of(texty, st.text(max_size=20)))
def test_argparse_validators(validator, text):
    try:
        validator(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc)

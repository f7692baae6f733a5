"""Training-set augmentation (utils.augment, Train_models.py --augment_rc / --augment_shift).

The reverse complement and the shift are checked base by base; each epoch's draw is seeded and
keeps every label with its sequence; the rules whose labels an augmentation would break refuse
it; and a CNN trained with both is byte-reproducible and still learns the tiny planted motif.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from test_train import MOTIF, planted_data, write_data_folder
from utils import augment, simulate
from utils.encoding import codes_to_seqs, one_hot
from utils.folders import load_dataset
from utils.io import InputError


def as_text(onehot: np.ndarray) -> str:
    return "".join("ACGT"[i] if row.max() == 1 else "N" for i, row in zip(onehot.argmax(1), onehot))


def test_reverse_complement_reverses_and_complements():
    x = one_hot(["AACGTTTG", "GATTACAC"])
    assert [as_text(s) for s in augment.reverse_complement(x)] == ["CAAACGTT", "GTGTAATC"]


def test_shift_moves_the_sequence_and_pads_the_end_it_leaves():
    x = one_hot(["ACGTACGT"] * 3)
    out = augment.shifted(x, np.array([2, -3, 0]))
    assert [as_text(s) for s in out] == ["NNACGTAC", "TACGTNNN", "ACGTACGT"]
    assert np.all(out[0, :2] == augment.PAD) and np.all(out[1, 5:] == augment.PAD)
    assert np.all(x == one_hot(["ACGTACGT"] * 3))           # the input untouched


def test_each_epoch_draw_is_seeded_and_keeps_every_label_with_its_sequence():
    seqs = codes_to_seqs(np.random.default_rng(1).integers(0, 4, size=(200, 30)).astype(np.uint8))
    x, y = one_hot(seqs), np.arange(200) % 2
    aug = augment.Augment(rc=True)
    first = augment.batches(x, y, None, 64, aug, seed=4)
    again = augment.batches(x, y, None, 64, aug, seed=4)
    assert len(first) == 4                                     # 200 / 64, the last batch short
    flipped = 0
    seen = []
    for i in range(len(first)):
        xb, yb = first[i]
        assert np.array_equal(xb, again[i][0]) and np.array_equal(yb, again[i][1])
        for row, label, idx in zip(xb, yb, first.order[i * 64:(i + 1) * 64]):
            text, original = as_text(row), seqs[idx]
            rc = as_text(augment.reverse_complement(one_hot([original]))[0])
            assert text in (original, rc) and label == y[idx]
            flipped += text == rc and text != original
            seen.append(idx)
    assert sorted(seen) == list(range(200))                     # each sequence once per epoch
    assert 70 <= flipped <= 130                                 # about half (binomial 200, 1/2: 100 +- 7)
    before = first.x.copy()
    first.on_epoch_end()                                        # the next epoch: a new order and new flips
    assert first.epoch == 1 and not np.array_equal(before, first.x)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("aug")
    out = {}
    for name, flags in (("position", dict(gen_type="position")),
                        ("order_both", dict(gen_type="order", strand="both")),
                        ("order_plus", dict(gen_type="order", strand="plus")),
                        ("distance_both", dict(gen_type="distance", strand="both"))):
        rule = simulate.resolve_rule(simulate.SimulationConfig(num_seqs=40, seed=3, **flags))
        simulate.write_dataset(rule, root / name)
        out[name] = load_dataset(root / name)
    return out


@pytest.mark.parametrize("name, aug, needle", [
    ("position", augment.Augment(rc=True), "reverse complement would mislabel this position rule's data"),
    ("position", augment.Augment(shift=3), "shift would mislabel this position rule's data"),
    ("order_both", augment.Augment(rc=True), "puts CTCF_known1 before"),
    ("order_plus", augment.Augment(shift=21), "more than a tenth of the 200 bp"),
])
def test_an_augmentation_the_labels_would_not_survive_is_refused(folders, name, aug, needle):
    with pytest.raises(InputError, match=needle):
        augment.check(aug, folders[name])


@pytest.mark.parametrize("name", ["order_plus", "distance_both", "position"])
def test_what_the_labels_survive_is_allowed(folders, name):
    aug = augment.Augment() if name == "position" else augment.Augment(rc=True, shift=20)
    augment.check(aug, folders[name])                           # no refusal


FLAGS = ["--batch_size", "32", "--filters", "16", "--architecture", "basic", "--conv_blocks", "1",
         "--lr", "0.01", "--epochs", "4", "--seed", "0", "--quiet", "--augment_rc", "true", "--augment_shift", "5"]


@pytest.mark.slow
def test_a_cnn_trained_with_augmentation_is_reproducible_and_learns(tmp_path):
    seqs, labels = planted_data()
    data = write_data_folder(tmp_path / "data", seqs, labels)
    for name in ("a", "b"):
        assert Train_models.main(["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--model_name", name]
                                 + FLAGS) == 0
    for name in ("predictions.tsv", "history.csv", "metrics.json"):
        assert (tmp_path / "m" / "a" / name).read_bytes() == (tmp_path / "m" / "b" / name).read_bytes()
    meta = json.loads((tmp_path / "m" / "a" / "model.json").read_text())
    assert meta["training"]["augment_rc"] is True and meta["training"]["augment_shift"] == 5
    metrics = json.loads((tmp_path / "m" / "a" / "metrics.json").read_text())
    assert metrics["test"]["auroc"] > 0.9, (MOTIF, metrics["test"])


@pytest.mark.parametrize("name, rc, shift, notes", [
    ("distance_both", True, 3, []),                              # both survive: reverse complements, 3 bp
    ("order_plus", False, 3, ["trained without reverse complements: the motifs were planted on + only"]),
    ("order_both", False, 3, ["trained without reverse complements: on data planted on both strands the "
                              "reverse complement of"]),
    ("position", False, 0, ["trained without reverse complements: the region is read from the 5' end",
                            "trained without shifts: a shift moves the motif across the region's edges"]),
])
def test_the_automatic_augmentation_steps_aside_where_the_labels_would_not_survive(folders, name, rc, shift, notes):
    aug, said = augment.resolve(None, None, folders[name])
    assert (aug.rc, aug.shift) == (rc, shift)
    assert len(said) == len(notes) and all(line.startswith(n) for line, n in zip(said, notes))
    kept, said = augment.resolve(False, 0, folders[name])        # values given are kept as given
    assert (kept.rc, kept.shift, said) == (False, 0, [])


def test_the_automatic_shift_is_at_most_a_tenth_of_the_length(tmp_path):
    seqs, labels = planted_data(n=60, length=25)
    data = load_dataset(write_data_folder(tmp_path / "short", seqs, labels))     # no rule: both apply
    assert augment.resolve(None, None, data) == (augment.Augment(rc=True, shift=2), [])


def test_the_default_training_records_what_it_used_and_says_what_stepped_aside(folders, tmp_path, capsys):
    data = folders["position"].directory
    assert Train_models.main(["--data_file", str(data), "--out_dir", str(tmp_path), "--epochs", "1", "--filters", "4",
                              "--exp_filters", "4", "--architecture", "basic", "--conv_blocks", "1"]) == 0
    out = capsys.readouterr().out
    assert "note: trained without reverse complements: the region is read from the 5' end" in out
    assert "note: trained without shifts" in out
    meta = json.loads((tmp_path / "cnn" / "model.json").read_text())
    assert (meta["training"]["augment_rc"], meta["training"]["augment_shift"]) == (False, 0)
    with pytest.raises(InputError, match="shift would mislabel this position rule's data"):
        Train_models.main(["--data_file", str(data), "--out_dir", str(tmp_path / "again"), "--augment_shift", "3"])

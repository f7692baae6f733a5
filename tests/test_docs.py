"""The docs and --help cannot drift: flag tables are the parsers' own, shared flags are declared once."""
from __future__ import annotations

import argparse

import pytest

import Generate_sequences
import Interpret_models
import Train_models
from utils import cli, flag_docs

SCRIPTS = {"Generate_sequences.py": Generate_sequences, "Train_models.py": Train_models,
           "Interpret_models.py": Interpret_models}
MOTIF_FLAGS = ("--motifs", "--motif_db", "--list_motifs", "--background_dist")
MEME = ("MEME version 4\n\nALPHABET= ACGT\n\n"
        "MOTIF TOY1\nletter-probability matrix: alength= 4 w= 4\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n\n"
        "MOTIF OTHER\nletter-probability matrix: alength= 4 w= 5\n0 0 0 1\n0 0 1 0\n0 1 0 0\n1 0 0 0\n1 0 0 0\n\n"
        "MOTIF TOY22\nletter-probability matrix: alength= 4 w= 6\n" + "0 1 0 0\n1 0 0 0\n" * 3)


def action(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_page_holds_its_parsers_table(script):
    page = flag_docs.ROOT / "docs" / script.replace(".py", ".md")
    text = page.read_text()
    assert flag_docs.marked_scripts(text) == [script]
    table = cli.flag_table(SCRIPTS[script].build_parser())
    assert f"<!-- flags: {script} -->\n{table}<!-- /flags -->" in text, \
        f"{page.name}'s flag table differs from {script}'s parser: run `make docs`"


def test_no_doc_differs_from_the_parsers():
    assert flag_docs.stale_docs() == [], "run `make docs` (python -m utils.flag_docs --write)"


def test_the_table_shows_the_parsers_defaults_not_old_numbers():
    table = cli.flag_table(Interpret_models.build_parser())
    assert "| `--window INT bp` | `5` | KernelSHAP feature width" in table
    assert "| `--nsamples INT` | `500` | KernelSHAP coalitions sampled per sequence |" in table


def test_flag_table_renders_every_kind_of_flag_exactly():
    p = cli.make_parser("toy")
    p.add_argument("--n", type=int, default=3, metavar="INT bp", help="how many; the rest | are kept")
    g = p.add_argument_group("motif things")
    g.add_argument("--names", nargs="+", default=["A", "B"], metavar="NAME", help="names like <X>")
    g.add_argument("--mode", choices=("x", "y"), default="x", help="x or y")
    g.add_argument("--gap", type=int, default=None, help="the gap; default 10 (or less); see --n")
    g.add_argument("--db", "--library", dest="db", default=None, metavar="PATH",
                   help="a file (default: the built-in one)")
    g.add_argument("--pair", nargs=2, default=None, metavar=("A", "B"), help="a pair")
    g.add_argument("--list", nargs="?", const="", default=None, metavar="SUB", help="list 2**k things")
    g.add_argument("--flag", action="store_true", help="switch it on")
    g.add_argument("--bool", type=cli.boolean, default=False, help="true or false")
    assert cli.flag_table(p) == (
        "| flag | default | meaning |\n"
        "|---|---|---|\n"
        "| `--n INT bp` | `3` | how many; the rest \\| are kept |\n"
        "| **motif things** | | |\n"
        "| `--names NAME...` | `A B` | names like &lt;X&gt; |\n"
        "| `--mode x\\|y` | `x` | x or y |\n"
        "| `--gap GAP` | 10 (or less) | the gap; see `--n` |\n"
        "| `--db PATH` (alias `--library`) | the built-in one | a file |\n"
        "| `--pair A B` | none | a pair |\n"
        "| `--list [SUB]` | none | list 2\\*\\*k things |\n"
        "| `--flag` | off | switch it on |\n"
        "| `--bool BOOL` | `false` | true or false |\n")


def test_fill_tables_replaces_only_between_the_markers():
    text = ("intro\n<!-- flags: A.py -->\nold table\n<!-- /flags -->\nmiddle\n"
            "<!-- flags: B.py -->\n<!-- /flags -->\nend\n")
    filled = flag_docs.fill_tables(text, lambda script: f"| {script} |\n")
    assert filled == ("intro\n<!-- flags: A.py -->\n| A.py |\n<!-- /flags -->\nmiddle\n"
                      "<!-- flags: B.py -->\n| B.py |\n<!-- /flags -->\nend\n")
    assert flag_docs.marked_scripts(text) == ["A.py", "B.py"]


def test_stale_docs_finds_and_rewrites_a_drifted_page(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "tool.py").write_text(
        "import argparse\n\ndef build_parser():\n    p = argparse.ArgumentParser()\n"
        "    p.add_argument('--k', type=int, default=7, metavar='INT', help='k-mer length')\n    return p\n")
    page = tmp_path / "docs" / "tool.md"
    page.write_text("# tool\n<!-- flags: tool.py -->\n| `--k INT` | `6` | k-mer length |\n<!-- /flags -->\n")
    assert flag_docs.stale_docs(tmp_path) == [page]
    assert flag_docs.stale_docs(tmp_path, write=True) == [page]
    assert page.read_text() == ("# tool\n<!-- flags: tool.py -->\n| flag | default | meaning |\n|---|---|---|\n"
                                "| `--k INT` | `7` | k-mer length |\n<!-- /flags -->\n")
    assert flag_docs.stale_docs(tmp_path) == []


def test_motif_flags_are_one_declaration_with_per_script_defaults():
    gen, interp = Generate_sequences.build_parser(), Interpret_models.build_parser()
    for flag in MOTIF_FLAGS:
        a, b = action(gen, flag), action(interp, flag)
        same = ("option_strings", "dest", "nargs", "const", "type", "metavar", "choices")
        assert [getattr(a, k) for k in same] == [getattr(b, k) for k in same], flag
    for flag in ("--motif_db", "--list_motifs"):
        assert action(gen, flag).help == action(interp, flag).help == {
            "--motif_db": cli.MOTIF_DB_HELP, "--list_motifs": cli.LIST_MOTIFS_HELP}[flag]
        assert action(gen, flag).default == action(interp, flag).default
    assert action(gen, "--motifs").default == ["STAT_known2", "CTCF_known1"]
    assert action(gen, "--background_dist").default == [0.25, 0.25, 0.25, 0.25]
    assert action(interp, "--motifs").default is None and action(interp, "--background_dist").default is None
    assert action(gen, "--motif_db").metavar == "encode|hocomoco|jaspar[:YEAR]|PATH"
    assert action(gen, "--background_dist").metavar == ("pA", "pC", "pG", "pT")


def test_interpret_lists_motifs_as_generate_does(capsys):
    assert Interpret_models.main(["--list_motifs", "CTCF_known"]) == 0
    interp = capsys.readouterr().out
    assert Generate_sequences.main(["--list_motifs", "CTCF_known"]) == 0
    assert interp == capsys.readouterr().out == "CTCF_known1\t19\nCTCF_known2\t17\n"


def test_interpret_lists_a_meme_files_motifs_without_a_model(tmp_path, capsys, monkeypatch):
    meme = tmp_path / "m.meme"
    meme.write_text(MEME)
    monkeypatch.chdir(tmp_path)          # no models/cnn here: --list_motifs needs none
    assert Interpret_models.main(["--motif_db", str(meme), "--list_motifs", "toy"]) == 0
    assert capsys.readouterr().out == "TOY1\t4\nTOY22\t6\n"
    assert Interpret_models.main(["--motif_db", str(meme), "--list_motifs"]) == 0
    assert capsys.readouterr().out == "TOY1\t4\nOTHER\t5\nTOY22\t6\n"
    assert list(tmp_path.iterdir()) == [meme]

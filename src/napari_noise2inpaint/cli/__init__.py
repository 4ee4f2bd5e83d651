"""Command-line interface: ``noise2inpaint train | denoise | info | export``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from napari_noise2inpaint._version import __version__
from napari_noise2inpaint.cli.terminal import PROG
from napari_noise2inpaint.errors import InputError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 130 when interrupted outside training
        (or before its first step).
    """
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 2
        return args.func(args)
    except BrokenPipeError:  # e.g. `noise2inpaint info model | head`
        _silence_stdout()
        return 1
    except (InputError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: not enough memory; use smaller settings or data", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with the train, denoise, info and export subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    # the subcommands import torch: here, inside main's try, Ctrl-C while it loads is one line
    from napari_noise2inpaint.cli.denoise import add_denoise
    from napari_noise2inpaint.cli.inspect import add_inspect
    from napari_noise2inpaint.cli.models import add_export, add_info
    from napari_noise2inpaint.cli.train import add_train

    parser = _OneLineErrors(prog=PROG, description="Self-supervised denoising with Noise2Inpaint.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_train(commands)
    add_denoise(commands)
    add_info(commands)
    add_export(commands)
    add_inspect(commands)
    return parser


class _OneLineErrors(argparse.ArgumentParser):
    """A parser that reports a usage error in one line and points to ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

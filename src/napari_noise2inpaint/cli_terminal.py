"""Terminal helpers of the command line: a lazy progress bar and Ctrl-C handling."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from .errors import InputError

PROG = "noise2inpaint"


class Progress:
    """A tqdm bar on stderr, opened at the first update so that early errors print alone."""

    def __init__(self, description: str, unit: str):
        self.description, self.unit = description, unit
        self.bar: tqdm | None = None

    def update(self, done: int, total: int | None, postfix: dict | None = None) -> None:
        """Move the bar to ``done`` of ``total`` with optional key-value annotations."""
        if self.bar is None:
            self.bar = tqdm(
                desc=self.description,
                unit=self.unit,
                file=sys.stderr,
                dynamic_ncols=True,
                total=total,
            )
        self.bar.total = total
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Close the bar if it was opened."""
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """Make the first Ctrl-C set ``stop`` (training ends and saves); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        tqdm.write(
            f"{PROG}: stopping after this step and saving the model so far "
            "(Ctrl-C again to abort without saving)",
            file=sys.stderr,
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_output(out: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output path that is one of the inputs or lies in a missing folder."""
    for path in inputs:
        if out.resolve() == path.resolve() or (
            out.exists() and path.exists() and out.samefile(path)
        ):
            raise InputError(f"--out {out} is an input file; choose another output path.")
    if not out.parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist.")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name.")


def print_notes(notes) -> set[str]:
    """Print each non-empty note once to stderr; return the notes printed."""
    shown = set()
    for note in notes:
        if note and note not in shown:
            shown.add(note)
            print(f"{PROG}: note: {note}", file=sys.stderr)
    return shown

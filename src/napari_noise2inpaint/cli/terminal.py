"""Terminal helpers of the command line: a lazy progress bar and stop signals."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from tqdm import tqdm

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
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Make the first Ctrl-C or SIGTERM set ``stop`` (training ends and saves); a second aborts.

    The handlers that were installed before are restored afterwards; a signal that the caller
    ignores (``SIG_IGN``, as for background jobs) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        tqdm.write(
            f"{PROG}: {name}: stopping after this step and saving the model so far "
            "(Ctrl-C again to abort without saving)",
            file=sys.stderr,
        )

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def print_notes(notes) -> set[str]:
    """Print each non-empty note once to stderr; return the notes printed."""
    shown = set()
    for note in notes:
        if note and note not in shown:
            shown.add(note)
            print(f"{PROG}: note: {note}", file=sys.stderr)
    return shown


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Make SIGTERM unwind like Ctrl-C, so that a half-written temporary file is removed.

    The handler installed before is restored afterwards; an ignored SIGTERM stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

"""One background run of a widget (a napari worker), and user-facing error messages."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt

from napari_noise2inpaint import InputError
from napari_noise2inpaint.model import resolve_device

#: Seconds a closing widget waits at most for its worker to leave the step it is in.
CLOSE_WAIT_S = 600.0


def error_message(exc: BaseException, doing: str) -> str:
    """One sentence for the user about an exception raised while ``doing`` something."""
    if isinstance(exc, InputError):
        return str(exc)
    name = type(exc).__name__
    if name == "OutOfMemoryError" or "out of memory" in str(exc).lower():
        return (
            f"The GPU ran out of memory while {doing}; lower the batch or patch size, "
            "or choose the CPU device."
        )
    if isinstance(exc, MemoryError):
        return f"Not enough memory for {doing}; use a smaller image or batch size."
    return f"{doing.capitalize()} failed: {name}: {exc}"


def cpu_threads() -> int:
    """Torch intra-op threads for a CPU job: all cores but one, which stays with the GUI."""
    return max(1, (os.cpu_count() or 1) - 1)


def runs_on_cpu(device: str) -> bool:
    """Whether ``device`` ("auto", "cpu", "cuda", "mps") resolves to the CPU here."""
    try:
        return resolve_device(device).type == "cpu"
    except (InputError, RuntimeError, ValueError):
        return False  # an unusable device fails in the worker, with a message


@dataclass
class Job:
    """One background run: its worker, its stop flag and whether its owner was closed.

    A job runs one worker once. ``close`` makes it inert: the widget's handlers are
    disconnected (and skip any signal already queued) and the call returns only once the
    worker has finished, so that nothing touches the widget or the viewer once they are being
    torn down.
    """

    stop_event: threading.Event = field(default_factory=threading.Event)
    #: Set (from the worker thread) once the worker has finished, however it ended.
    done: threading.Event = field(default_factory=threading.Event)
    worker: GeneratorWorker | None = None
    closed: bool = False
    stopped_by_user: bool = False
    on_close: list[Callable[[], None]] = field(default_factory=list)
    _connections: list[tuple] = field(default_factory=list)
    _threads_capped: bool = False

    @property
    def running(self) -> bool:
        """Whether the worker was started and has not finished."""
        return self.worker is not None and not self.done.is_set()

    def start(
        self,
        func: Callable,
        *args,
        doing: str,
        on_yield: Callable,
        on_return: Callable,
        on_done: Callable,
        device: str = "cpu",
        **kwargs,
    ) -> None:
        """Run generator ``func(*args, **kwargs)`` in a napari worker; errors become notices.

        The handlers run on the GUI thread in the order of the worker's signals and are
        skipped once the job is closed. ``on_done`` runs after success, error or abort alike;
        an abort is reported as cancelled. On the CPU, torch keeps one core for the GUI while
        the worker runs.
        """
        if self.worker is not None:
            raise RuntimeError("a job runs its worker once")
        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True, **kwargs)
        handlers = {
            "yielded": on_yield,
            "returned": on_return,
            "errored": lambda exc: show_error(error_message(exc, doing)),
            "aborted": lambda: show_info(f"{doing.capitalize()} was cancelled."),
            "finished": lambda: self._finish(on_done),
        }
        for name, handler in handlers.items():
            signal = getattr(worker, name)
            slot = self._guarded(handler)
            signal.connect(slot)
            self._connections.append((signal, slot))
        # Direct: runs in the worker thread, so close() can wait for it without an event loop.
        worker.finished.connect(self.done.set, Qt.ConnectionType.DirectConnection)
        self.worker = worker
        if runs_on_cpu(device):
            self._threads_capped = True
            _ThreadCap.acquire()
        worker.start()

    def stop(self, *_args) -> None:
        """End early at the user's request: training returns its model so far."""
        self.stopped_by_user = True
        self.stop_event.set()

    def cancel(self, *_args) -> None:
        """Stop now: training returns its model, anything else ends at its next yield."""
        self.stop_event.set()
        if self.worker is not None:
            self.worker.quit()

    def close(self, *_args) -> None:
        """Stop for good because the owner is going away; detach handlers, wait for the worker.

        Safe to call more than once, and from a ``destroyed`` signal.
        """
        if self.closed:
            return
        self.closed = True
        self.cancel()
        for signal, slot in self._connections:
            with contextlib.suppress(TypeError, RuntimeError):
                signal.disconnect(slot)
        self._connections.clear()
        for callback in self.on_close:
            with contextlib.suppress(RuntimeError):
                callback()
        if self.worker is not None:
            self.done.wait(CLOSE_WAIT_S)
        self._restore_threads()

    def _guarded(self, handler: Callable) -> Callable:
        def slot(*args):
            if not self.closed:
                handler(*args)

        return slot

    def _finish(self, on_done: Callable) -> None:
        self._restore_threads()
        on_done()

    def _restore_threads(self) -> None:
        if self._threads_capped:
            self._threads_capped = False
            _ThreadCap.release()


class _ThreadCap:
    """Torch's intra-op thread count, which is process-wide, capped while CPU jobs run.

    The first running CPU job saves it and caps it, the last one to end puts it back (GUI
    thread only).
    """

    users = 0
    saved: int | None = None

    @classmethod
    def acquire(cls) -> None:
        if cls.users == 0:
            cls.saved = torch.get_num_threads()
            torch.set_num_threads(min(cls.saved, cpu_threads()))
        cls.users += 1

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.saved is not None:
            torch.set_num_threads(cls.saved)
            cls.saved = None

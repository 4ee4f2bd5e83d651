"""Layer snapshots, background workers and user-facing error messages shared by the widgets."""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import dask.array as da
import numpy as np
import torch
from napari.layers import Image
from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt

from napari_noise2inpaint import InputError, iter_denoise
from napari_noise2inpaint.chunked import iter_denoise_chunks
from napari_noise2inpaint.model import resolve_device

#: Lazy layers (dask, zarr) above this size (as float32) are denoised chunk by chunk.
LAZY_BYTES = 512 * 2**20


@dataclass(frozen=True)
class LayerSnapshot:
    """A private copy of an Image layer's data and placement, taken on the GUI thread.

    Workers only ever see this copy, so the input layer is never read or changed off-thread.
    """

    name: str
    data: np.ndarray
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    axis_labels: tuple[str, ...]
    units: tuple
    contrast: tuple[float, float] = (0.0, 1.0)

    @property
    def lazy(self) -> bool:
        """Whether the data is a lazy (dask) array, read chunk by chunk instead of copied."""
        return isinstance(self.data, da.Array)

    @classmethod
    def of(cls, layer) -> LayerSnapshot:
        """Copy ``layer``; raise InputError when it is not a usable Image layer."""
        if layer is None:
            raise InputError("No image selected: add or open an Image layer first.")
        if not isinstance(layer, Image):
            raise InputError(f"Layer {layer.name!r} is not an Image layer; pick an Image layer.")
        if layer.rgb:
            raise InputError(
                f"Layer {layer.name!r} is RGB; split its colours into a channel axis first."
            )
        data = layer.data[0] if layer.multiscale else layer.data
        if 0 in data.shape:
            raise InputError(f"Layer {layer.name!r} is empty (shape {tuple(data.shape)}).")
        big = not isinstance(data, np.ndarray) and data.size * 4 > LAZY_BYTES
        return cls(
            name=layer.name,
            # a large lazy array (dask, zarr) is immutable and read chunk by chunk, not copied
            data=da.asarray(data) if big else np.array(data, copy=True),
            scale=tuple(layer.scale),
            translate=tuple(layer.translate),
            axis_labels=tuple(layer.axis_labels),
            units=tuple(layer.units),
            contrast=tuple(float(v) for v in layer.contrast_limits),
        )

    def layer_kwargs(self, suffix: str, **extra) -> dict:
        """Keyword arguments of ``viewer.add_image`` for a result placed like the input."""
        return {
            "name": f"{self.name} ({suffix})",
            "scale": self.scale,
            "translate": self.translate,
            "axis_labels": self.axis_labels,
            "units": self.units,
            **extra,
        }


def contrast_limits(image: np.ndarray) -> tuple[float, float]:
    """Display range from the 1st and 99.8th percentiles (never an empty range)."""
    sample = image.ravel()[:: max(1, image.size // 4_000_000)]
    low, high = (float(v) for v in np.percentile(sample, (1, 99.8)))
    return (low, high) if high > low else (low, low + 1.0)


def denoise_job(model, data: np.ndarray, channel_axis: int | None, device: str):
    """Denoise ``data`` in a worker, yielding progress and returning ``(image, limits)``."""
    image = yield from iter_denoise(model, data, channel_axis=channel_axis, device=device)
    return image, contrast_limits(image)


def chunked_denoise_job(model, data, target, channel_axis: int | None, device: str):
    """Denoise a lazy array chunk by chunk into ``target`` (a zarr array) in a worker."""
    yield from iter_denoise_chunks(model, data, target, channel_axis=channel_axis, device=device)


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


#: Seconds a closing widget waits for its worker to finish the step it is in.
CLOSE_WAIT_S = 10.0


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

    ``close`` makes the run inert: the widget's handlers are disconnected from the worker
    (and skip any signal already queued), and the worker is given a bounded time to finish,
    so that nothing touches the widget or the viewer once they are being torn down.
    """

    stop_event: threading.Event = field(default_factory=threading.Event)
    #: Set (from the worker thread) once the worker has finished, however it ended.
    done: threading.Event = field(default_factory=threading.Event)
    worker: GeneratorWorker | None = None
    closed: bool = False
    #: Whether this job holds the torch thread cap (see :meth:`cap_threads`).
    threads_capped: bool = False
    on_close: list[Callable[[], None]] = field(default_factory=list)
    _connections: list[tuple] = field(default_factory=list)
    _pending: collections.deque = field(default_factory=collections.deque)
    _handling: bool = False

    def cancel(self, *_args) -> None:
        """Ask the worker to stop: training returns its model; a pending denoise is dropped."""
        self.stop_event.set()
        if self.worker is not None:
            self.worker.quit()

    def close(self, *_args) -> None:
        """Stop for good because the owner is going away; detach handlers, wait (bounded).

        Safe to call more than once, and from a ``destroyed`` signal.
        """
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        self.cancel()
        for signal, slot in self._connections:
            with contextlib.suppress(TypeError, RuntimeError):
                signal.disconnect(slot)
        self._connections.clear()
        for callback in self.on_close:
            with contextlib.suppress(RuntimeError):
                callback()
        if self.worker is not None and self.worker.is_running:
            self.done.wait(CLOSE_WAIT_S)
        self.restore_threads()

    def cap_threads(self, device: str) -> None:
        """Limit torch's intra-op threads while this job runs on the CPU (idempotent)."""
        if not self.threads_capped and runs_on_cpu(device):
            self.threads_capped = True
            _ThreadCap.acquire()

    def restore_threads(self) -> None:
        """Undo :meth:`cap_threads` (idempotent); the last job to end restores torch."""
        if self.threads_capped:
            self.threads_capped = False
            _ThreadCap.release()


class _ThreadCap:
    """Process-wide torch thread cap shared by concurrent jobs (GUI thread only).

    ``torch.set_num_threads`` is global: the first job saves the current value and caps it,
    the last one to end puts the saved value back.
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


def start(
    job: Job,
    func: Callable,
    *args,
    desc: str,
    doing: str,
    on_yield: Callable,
    on_return: Callable,
    on_done: Callable,
    **kwargs,
) -> GeneratorWorker:
    """Run generator ``func`` in a napari worker with a progress bar; errors become notices.

    The handlers run one at a time and in the order of the worker's signals, even when a
    handler processes Qt events; they are skipped once ``job.closed`` is set and are
    disconnected by ``job.close()``, so a closed widget is never touched. ``on_done`` runs
    after success, error or abort alike; an abort is reported as cancelled.
    """

    def serialised(handler):
        # napari's progress bar calls QApplication.processEvents() in setValue, so a handler
        # that advances it can be re-entered by the worker's next queued signal, and so on
        # for every signal in the backlog: a recursion that ends in RecursionError when the
        # worker outpaces the GUI. Signals are therefore queued and handled one at a time,
        # in order, by the outermost call; a closed job drops them.
        def slot(*args):
            if job.closed:
                return
            job._pending.append((handler, args))
            if job._handling:
                return
            job._handling = True
            try:
                while job._pending and not job.closed:
                    call, call_args = job._pending.popleft()
                    call(*call_args)
            finally:
                job._handling = False

        return slot

    worker = create_worker(
        func,
        *args,
        _progress={"total": 0, "desc": desc},
        _start_thread=False,
        _ignore_errors=True,  # errors become notices through the "errored" handler below
        **kwargs,
    )
    handlers = {
        "yielded": serialised(on_yield),
        "returned": serialised(on_return),
        "errored": serialised(lambda exc: show_error(error_message(exc, doing))),
        "aborted": serialised(lambda: show_info(f"{doing.capitalize()} was cancelled.")),
        "finished": serialised(on_done),
    }
    for name, slot in handlers.items():
        signal = getattr(worker, name)
        signal.connect(slot)
        job._connections.append((signal, slot))
    job.done.clear()
    # Direct: runs in the worker thread, so close() can wait for it without an event loop.
    worker.finished.connect(job.done.set, Qt.ConnectionType.DirectConnection)
    job.worker = worker
    worker.start()
    return worker


def advance(worker: GeneratorWorker, done: int, total: int | None, description: str) -> None:
    """Move a worker's progress bar to ``done`` of ``total`` (indeterminate when None)."""
    bar = worker.pbar
    if total and bar.total != total:
        bar.total = total
    if done > bar.n:
        bar.update(done - bar.n)
    bar.set_description(description)

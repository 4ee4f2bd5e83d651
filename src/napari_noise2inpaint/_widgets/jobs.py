"""Layer snapshots, background workers and user-facing error messages shared by the widgets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from napari.layers import Image
from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error, show_info

from napari_noise2inpaint import InputError, iter_denoise


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
        return cls(
            name=layer.name,
            data=np.array(data, copy=True),
            scale=tuple(layer.scale),
            translate=tuple(layer.translate),
            axis_labels=tuple(layer.axis_labels),
            units=tuple(layer.units),
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


@dataclass
class Job:
    """One background run: its worker, its stop flag and whether its owner was closed."""

    stop_event: threading.Event = field(default_factory=threading.Event)
    worker: GeneratorWorker | None = None
    closed: bool = False

    def cancel(self, *_args) -> None:
        """Ask the worker to stop: training returns its model; a pending denoise is dropped."""
        self.stop_event.set()
        if self.worker is not None:
            self.worker.quit()

    def close(self, *_args) -> None:
        """Mark the owning widget as gone: stop, and let result handlers ignore late signals."""
        self.closed = True
        self.cancel()


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

    Handlers are skipped once ``job.closed`` is set, so a closed widget is never touched.
    ``on_done`` runs after success, error or abort alike; an abort is reported as cancelled.
    """

    def guard(handler):
        return lambda *a: None if job.closed else handler(*a)

    worker = create_worker(
        func,
        *args,
        _progress={"total": 0, "desc": desc},
        _connect={
            "yielded": guard(on_yield),
            "returned": guard(on_return),
            "errored": guard(lambda exc: show_error(error_message(exc, doing))),
            "aborted": guard(lambda: show_info(f"{doing.capitalize()} was cancelled.")),
            "finished": guard(on_done),
        },
        **kwargs,
    )
    job.worker = worker
    return worker


def advance(worker: GeneratorWorker, done: int, total: int | None, description: str) -> None:
    """Move a worker's progress bar to ``done`` of ``total`` (indeterminate when None)."""
    bar = worker.pbar
    if total and bar.total != total:
        bar.total = total
    if done > bar.n:
        bar.update(done - bar.n)
    bar.set_description(description)

"""Live previews: a plane chosen by the user, denoised now and then during training.

A 3D model needs Z context: the GUI then gives a slab of ``slab_depth`` planes around the plane
in view, the whole slab is denoised and the plane in view is returned. Previews can have a cost
budget: the interval then grows so that at most a fraction ``budget`` of the training time goes
to them, however large the plane (the widget uses a tenth). 3D slabs are costly on a CPU, so
without a budget they get one of a fifth.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts

#: Largest fraction of the training time that 3D previews take when no budget is given.
SLAB_BUDGET = 0.2


class PreviewSource:
    """Holds the plane to preview; the GUI thread sets it, the training thread reads it.

    Parameters
    ----------
    interval_s : float
        Minimum seconds between two previews.
    slab_depth : int
        Planes around the plane in view that a 3D model denoises for its preview.
    budget : float, optional
        Largest fraction of the time that previews may take; ``interval_s`` grows to keep it.
    """

    def __init__(self, interval_s: float = 3.0, slab_depth: int = 8, budget: float | None = None):
        self.min_interval_s = self.interval_s = interval_s
        self.slab_depth = slab_depth
        self.budget = budget
        self._lock = threading.Lock()
        self._plane: np.ndarray | None = None
        self._centre: int | None = None

    def set_plane(self, plane: np.ndarray | None, centre: int | None = None) -> None:
        """Give a copy of the plane to preview next.

        Parameters
        ----------
        plane : numpy.ndarray or None
            ``(Y, X)`` or ``(Y, X, C)``; for 3D models a slab ``(Z, Y, X)`` or ``(Z, Y, X, C)``.
        centre : int, optional
            Index along Z of the plane in view when ``plane`` is a slab.
        """
        with self._lock:
            self._plane = None if plane is None else np.array(plane, copy=True)
            self._centre = centre

    def get_plane(self) -> np.ndarray | None:
        """Return the plane (or slab) to preview, or None."""
        with self._lock:
            return self._plane

    def get_slab(self) -> tuple[np.ndarray | None, int | None]:
        """Return the plane or slab and, for a slab, the index of the plane in view."""
        with self._lock:
            return self._plane, self._centre

    def record_cost(self, seconds: float, slab: bool = False) -> None:
        """Space the next preview so that one that took ``seconds`` stays within the budget."""
        budget = self.budget if self.budget is not None else (SLAB_BUDGET if slab else None)
        if budget is not None:
            self.interval_s = max(self.min_interval_s, seconds * (1 - budget) / budget)


def denoise_preview(model: ModelParts, source: PreviewSource) -> np.ndarray | None:
    """Denoise the source's plane with a model in training, restoring its training mode.

    A 3D model denoises the source's slab and returns its plane in view; without a slab (or
    with a 2D model given a slab) nothing is previewed.
    """
    from napari_noise2inpaint.engine.inference import denoise

    plane, centre = source.get_slab()
    if plane is None or (centre is not None) != (model.config.spatial_dims == 3):
        return None
    was_training = model.network.training
    start = time.perf_counter()
    try:
        if centre is None:
            channel_axis = 2 if plane.ndim == 3 else None
            return denoise(model, plane, channel_axis=channel_axis, device="keep")
        channels = plane.ndim == 4
        slab = np.moveaxis(plane, -1, 0) if channels else plane
        result = denoise(model, slab, channel_axis=0 if channels else None, device="keep")
        return np.moveaxis(result, 0, -1)[centre] if channels else result[centre]
    finally:
        source.record_cost(time.perf_counter() - start, slab=centre is not None)
        model.network.train(was_training)

"""Live previews: a plane chosen by the user, denoised now and then during training."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .model import TrainedModel


class PreviewSource:
    """Holds the plane to preview; the GUI thread sets it, the training thread reads it.

    Parameters
    ----------
    interval_s : float
        Minimum seconds between two previews.
    """

    def __init__(self, interval_s: float = 3.0):
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._plane: np.ndarray | None = None

    def set_plane(self, plane: np.ndarray | None) -> None:
        """Give a copy of the plane (2D, or 3D with a trailing RGB axis) to preview next."""
        with self._lock:
            self._plane = None if plane is None else np.array(plane, copy=True)

    def get_plane(self) -> np.ndarray | None:
        """Return the plane to preview, or None."""
        with self._lock:
            return self._plane


def denoise_preview(model: TrainedModel, source: PreviewSource) -> np.ndarray | None:
    """Denoise the source's plane with a model in training, restoring its training mode."""
    from .inference import denoise

    plane = source.get_plane()
    if plane is None:
        return None
    was_training = model.network.training
    try:
        channel_axis = 2 if plane.ndim == 3 else None
        return denoise(model, plane, channel_axis=channel_axis, device="keep")
    finally:
        model.network.train(was_training)

"""A trained denoiser: its parts (:class:`ModelParts`) with ``denoise`` and ``save``.

This module sits above the engine and the model files, which take a
:class:`~napari_noise2inpaint.engine.model_parts.ModelParts`: nothing it imports imports it
back. The device helpers live in :mod:`napari_noise2inpaint.engine.devices` and are
re-exported here for the modules that take them from ``model``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_noise2inpaint.engine.devices import (  # noqa: F401 (re-exported)
    autocast,
    available_devices,
    resolve_device,
    uses_bfloat16,
)
from napari_noise2inpaint.engine.inference import denoise
from napari_noise2inpaint.engine.model_parts import ModelParts
from napari_noise2inpaint.modelfiles.checkpoint import save_model


class TrainedModel(ModelParts):
    """Everything needed to denoise, with ``denoise`` and ``save`` at hand.

    The attributes are those of :class:`~napari_noise2inpaint.engine.model_parts.ModelParts`:
    ``network``, ``config``, ``means``, ``stds``, ``history``, ``data_info`` and
    ``alternatives``.
    """

    def denoise(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Denoise ``image``; see :func:`napari_noise2inpaint.denoise` for the options."""
        return denoise(self, image, **kwargs)

    def save(self, path: str) -> None:
        """Write the model to a safetensors file; see :func:`napari_noise2inpaint.save_model`."""
        save_model(self, path)

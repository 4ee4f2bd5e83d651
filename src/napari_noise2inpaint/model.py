"""A trained denoiser: network, config and the normalisation it was trained with.

The module sits above :mod:`.inference` and :mod:`.checkpoint` (which see ``TrainedModel``
only as a type), so ``TrainedModel.denoise`` and ``TrainedModel.save`` import nothing that
imports this module back. The device helpers live in :mod:`.devices` and are re-exported
here for the modules that take them from ``model``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checkpoint import save_model
from .config import Noise2InpaintConfig
from .devices import (  # noqa: F401 (re-exported: training, widgets, tests)
    autocast,
    available_devices,
    resolve_device,
    uses_bfloat16,
)
from .inference import denoise
from .network import Denoiser


@dataclass
class TrainedModel:
    """Everything needed to denoise: the network, its config and normalisation statistics.

    Attributes
    ----------
    network : Denoiser
        The trained network (on the CPU when not in use).
    config : Noise2InpaintConfig
        The configuration it was built and trained with.
    means, stds : list of float
        Per-channel normalisation statistics of the training data.
    history : dict
        Training summary (steps, epochs, losses, time, whether it was stopped early).
    data_info : dict
        Shape and dtype of the training data.
    alternatives : tuple of TrainedModel
        Other networks that may denoise an image instead, chosen per image by estimated
        risk (the built-in prior's white-noise network; see
        :mod:`napari_noise2inpaint.prior.choice`). Not saved with the model.
    """

    network: Denoiser
    config: Noise2InpaintConfig
    means: list[float]
    stds: list[float]
    history: dict[str, Any] = field(default_factory=dict)
    data_info: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[TrainedModel, ...] = ()

    @property
    def mu(self) -> float | None:
        """The learned data-consistency penalty (None for Noise2Void and supervised models)."""
        return float(self.network.mu.detach()) if self.network.unrolled else None

    @property
    def normalises_each_image(self) -> bool:
        """Whether images are normalised by their own mean and std (the built-in prior is)."""
        # model files before 0.4 kept this in the history
        return (
            self.config.normalisation == "per_image"
            or self.history.get("normalisation") == "per_image"
        )

    def denoise(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Denoise ``image``; see :func:`napari_noise2inpaint.denoise` for the options."""
        return denoise(self, image, **kwargs)

    def with_precision(self, precision: str | None) -> TrainedModel:
        """Return a copy whose config has ``precision`` (the network is shared); None: self."""
        if precision is None:
            return self
        alternatives = tuple(model.with_precision(precision) for model in self.alternatives)
        config = self.config.replace(precision=precision)
        return dataclasses.replace(self, config=config, alternatives=alternatives)

    def without_alternatives(self) -> TrainedModel:
        """Return this model alone (its network shared), without alternatives."""
        return dataclasses.replace(self, alternatives=())

    def save(self, path: str) -> None:
        """Write the model to a safetensors file; see :func:`napari_noise2inpaint.save_model`."""
        save_model(self, path)

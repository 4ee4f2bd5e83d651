"""The parts of a trained model that the engine works with: network, config, statistics.

:class:`~napari_noise2inpaint.TrainedModel` is a :class:`ModelParts` with two conveniences,
``denoise`` and ``save``, which need the engine and the model files. The engine, the model
files and the prior take a :class:`ModelParts` (any ``TrainedModel``), so none of them
imports :mod:`napari_noise2inpaint.model` back, not even for a type.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from napari_noise2inpaint.config import Noise2InpaintConfig
from napari_noise2inpaint.engine.network import Denoiser


@dataclass
class ModelParts:
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
    alternatives : tuple of ModelParts
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
    alternatives: tuple[ModelParts, ...] = ()

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

    def with_precision(self, precision: str | None) -> ModelParts:
        """Return a copy whose config has ``precision`` (the network is shared); None: self."""
        if precision is None:
            return self
        alternatives = tuple(model.with_precision(precision) for model in self.alternatives)
        config = self.config.replace(precision=precision)
        return dataclasses.replace(self, config=config, alternatives=alternatives)

    def without_alternatives(self) -> ModelParts:
        """Return this model alone (its network shared), without alternatives."""
        return dataclasses.replace(self, alternatives=())

"""A batch whose samples carry their own noise models (training the prior across the physics)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from napari_noise2inpaint.noise.models import NoiseModel


class BatchNoise:
    """One noise model per sample of a ``(B, ...)`` batch, solved sample by sample.

    Parameters
    ----------
    models : sequence of NoiseModel
        In normalised units, one per batch item.
    """

    def __init__(self, models: Sequence[NoiseModel]):
        self.models = list(models)

    def solve(self, y, z, theta, mu) -> torch.Tensor:
        """Each sample's data-consistency step with its own noise model."""
        if len(self.models) != y.shape[0]:
            raise ValueError(f"{len(self.models)} noise models for a batch of {y.shape[0]}.")
        parts = [
            model.solve(
                y[i : i + 1], z[i : i + 1], None if theta is None else theta[i : i + 1], mu
            ).to(y.dtype)
            for i, model in enumerate(self.models)
        ]
        return torch.cat(parts)

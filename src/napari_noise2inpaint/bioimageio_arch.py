"""The whole inference pipeline as one module (raw intensities in and out).

:class:`Noise2InpaintPipeline` is the architecture named by exported BioImage Model Zoo packages
(``import_from="napari_noise2inpaint.bioimageio_arch"``); it wraps the library's
:class:`~napari_noise2inpaint.network.Denoiser`, so the package holds weights, not a copy of the
network's code. This module path is named by every exported package: keep it (or a
re-export of :class:`Noise2InpaintPipeline` under it) when moving code. Packages are read back
by :func:`napari_noise2inpaint.loading.load_bioimageio`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .model_schema import parse_config
from .network import Denoiser
from .noise import build_noise_model

if TYPE_CHECKING:
    from .model import TrainedModel


class Noise2InpaintPipeline(nn.Module):
    """Normalise, run the unrolled network (with its data-consistency steps), de-normalise.

    Parameters
    ----------
    config : dict
        The model's :class:`~napari_noise2inpaint.config.Noise2InpaintConfig` as a JSON-able
        dict (``json.loads(config.to_json())``).
    means, stds : list of float
        Per-channel normalisation statistics of the training data (intensity units).
    output : {"z", "x"}, optional
        Which network output is returned: the last regulariser output ``z`` or the
        data-consistency output ``x``. Defaults to the config's ``inference_output``;
        ``"masks"`` (mask averaging, random at test time) falls back to ``"z"``.

    Notes
    -----
    ``forward`` takes a ``(B, C, Y, X)`` float tensor with ``C == len(means)``; each channel is
    denoised on its own with its own statistics, like :func:`napari_noise2inpaint.denoise`.
    The state dict holds only the network's weights (keys prefixed ``network.``).
    """

    def __init__(
        self,
        config: dict[str, Any],
        means: list[float],
        stds: list[float],
        output: str | None = None,
    ):
        super().__init__()
        self.config = parse_config(json.dumps(config), "The pipeline's config")
        if len(means) != len(stds) or not means:
            raise ValueError("means and stds must be non-empty lists of the same length.")
        noise = build_noise_model(self.config, means[0], stds[0])
        self.network = Denoiser(self.config, noise=noise)
        self.network.eval()
        chosen = output or self.config.inference_output
        self.output = "x" if chosen == "x" else "z"
        shape = (1, len(means), 1, 1)
        mean = torch.tensor(means, dtype=torch.float32).reshape(shape)
        std = torch.tensor(stds, dtype=torch.float32).reshape(shape)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """Denoise a ``(B, C, Y, X)`` batch in intensity units; returns float32, same shape."""
        raw = raw.float()
        normalised = (raw - self.mean) / self.std
        flat = normalised.reshape(-1, 1, raw.shape[-2], raw.shape[-1])
        x, z = self.network(flat)
        denoised = (z if self.output == "z" else x).reshape(raw.shape)
        return denoised * self.std + self.mean


def pipeline_kwargs(model: TrainedModel) -> dict[str, Any]:
    """Keyword arguments that rebuild ``model`` as a :class:`Noise2InpaintPipeline`.

    Parameters
    ----------
    model : TrainedModel
        A trained model.

    Returns
    -------
    dict
        ``config``, ``means``, ``stds`` and ``output``, all JSON-able.
    """
    output = model.config.inference_output
    return {
        "config": json.loads(model.config.to_json()),
        "means": [float(m) for m in model.means],
        "stds": [float(s) for s in model.stds],
        "output": "x" if output == "x" else "z",
    }


def build_pipeline(model: TrainedModel) -> Noise2InpaintPipeline:
    """Wrap a trained model's network (weights copied) in a :class:`Noise2InpaintPipeline`."""
    pipeline = Noise2InpaintPipeline(**pipeline_kwargs(model))
    pipeline.network.load_state_dict(model.network.state_dict(), strict=True)
    return pipeline.eval()

"""The whole inference pipeline as one module (raw intensities in and out).

:class:`Noise2InpaintPipeline` is the architecture named by exported BioImage Model Zoo packages
(``import_from="napari_noise2inpaint.bioimageio_arch"``, a re-export of this module's
class); it wraps the library's
:class:`~napari_noise2inpaint.engine.network.Denoiser`, so the package holds weights, not a
copy of the network's code. Keep that path when moving code. Packages are read back
by :func:`napari_noise2inpaint.modelfiles.loading.load_bioimageio`.

Models that normalise each image (the built-in prior) are normalised here, not by the spec's
pre- and postprocessing: the spec has no step that maps an output back with the *input's*
mean and std (``scale_mean_variance`` would give the denoised image the noisy image's
variance), and the data-consistency step needs each image's noise in its own normalised
units, estimated from the raw image by the library (:mod:`napari_noise2inpaint.engine.per_image`),
exactly as :func:`napari_noise2inpaint.denoise` does.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.engine.per_image import plane_noises, plane_statistics
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.modelfiles.model_schema import parse_config
from napari_noise2inpaint.noise import BatchNoise, build_noise_model


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
    per_image : bool
        Normalise every plane by its own mean and std instead of ``means`` and ``stds``, with
        each plane's noise model in the data consistency (estimated from the raw plane for
        ``noise_model="auto"``), as :func:`napari_noise2inpaint.denoise` does for models that
        normalise each image. False for packages exported before this option existed.

    Notes
    -----
    ``forward`` takes a ``(B, C, Y, X)`` float tensor with ``C == len(means)``; each channel is
    denoised on its own with its own statistics, like :func:`napari_noise2inpaint.denoise`.
    With ``per_image`` every batch item is its own image (its noise is estimated from it), and
    ``forward`` runs NumPy code: it cannot be traced to TorchScript.
    The state dict holds only the network's weights (keys prefixed ``network.``).
    """

    def __init__(
        self,
        config: dict[str, Any],
        means: list[float],
        stds: list[float],
        output: str | None = None,
        per_image: bool = False,
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
        self.per_image = bool(per_image)
        self.statistics = ([float(m) for m in means], [float(s) for s in stds])
        shape = (1, len(means), 1, 1)
        mean = torch.tensor(means, dtype=torch.float32).reshape(shape)
        std = torch.tensor(stds, dtype=torch.float32).reshape(shape)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """Denoise a ``(B, C, Y, X)`` batch in intensity units; returns float32, same shape."""
        raw = raw.float()
        if self.per_image:
            return self._each_image(raw)
        return self._denoise((raw - self.mean) / self.std) * self.std + self.mean

    def _denoise(self, normalised: torch.Tensor, noise=None) -> torch.Tensor:
        """Run the network on every plane of a normalised ``(B, C, Y, X)`` batch."""
        flat = normalised.reshape(-1, 1, *normalised.shape[-2:])
        x, z = self.network(flat, noise=noise)
        return (z if self.output == "z" else x).reshape(normalised.shape)

    def _each_image(self, raw: torch.Tensor) -> torch.Tensor:
        """Normalise every plane by its own mean and std, with its own noise model."""
        planes = raw.detach().cpu().numpy().swapaxes(0, 1)  # (C, B, Y, X), as denoise sees it
        means, stds = plane_statistics(planes)
        noise = self._plane_noises(planes, means, stds)
        mean, std = (torch.from_numpy(a.swapaxes(0, 1)).to(raw.device) for a in (means, stds))
        denoised = self._denoise(((raw.double() - mean) / std).float(), noise)
        return (denoised.double() * std + mean).float()

    def _plane_noises(self, planes, means, stds) -> BatchNoise | None:
        """Each batch item's noise models, one per channel (None: the network's own)."""
        model = TrainedModel(self.network, self.config, *self.statistics)
        samples = [
            plane_noises(model, planes[:, [b]], means[:, [b]], stds[:, [b]])
            for b in range(planes.shape[1])
        ]
        if samples[0] is None:
            return None
        return BatchNoise([noise for sample in samples for noise in sample])


def pipeline_kwargs(model: TrainedModel) -> dict[str, Any]:
    """Keyword arguments that rebuild ``model`` as a :class:`Noise2InpaintPipeline`.

    Parameters
    ----------
    model : TrainedModel
        A trained model.

    Returns
    -------
    dict
        ``config``, ``means``, ``stds``, ``output`` and ``per_image``, all JSON-able.
    """
    output = model.config.inference_output
    return {
        "config": json.loads(model.config.to_json()),
        "means": [float(m) for m in model.means],
        "stds": [float(s) for s in model.stds],
        "output": "x" if output == "x" else "z",
        "per_image": model.normalises_each_image,
    }


def build_pipeline(model: TrainedModel) -> Noise2InpaintPipeline:
    """Wrap a trained model's network (weights copied) in a :class:`Noise2InpaintPipeline`."""
    pipeline = Noise2InpaintPipeline(**pipeline_kwargs(model))
    pipeline.network.load_state_dict(model.network.state_dict(), strict=True)
    return pipeline.eval()

"""The noise physics the prior is trained across: models and levels drawn at random.

White Gaussian noise (sigma 2-55 on the 8-bit scale), Poisson-Gaussian camera noise (peak
photons 2-300, read noise 0-3 photons) and correlated Gaussian noise made by filtering white
noise with a Gaussian blur of width 0.5-2 px, a 1x3 to 1x7 line (line-scanning and
rolling-shutter cameras; along Y or X) or an anisotropic Gaussian, at std 5-50 (8-bit scale).
Clean images are in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from napari_noise2inpaint.noise import (
    CorrelatedNoise,
    GaussianNoise,
    NoiseModel,
    PoissonGaussianNoise,
)
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter

SIGMA_RANGE = (2.0, 55.0)
PHOTON_RANGE = (2.0, 300.0)
READ_NOISE_RANGE = (0.0, 3.0)
CORRELATED_SIGMA_RANGE = (5.0, 50.0)
BLUR_RANGE = (0.5, 2.0)
LINE_LENGTHS = (3, 5, 7)
#: probabilities of white Gaussian, Poisson-Gaussian and correlated noise
MIX = (0.35, 0.3, 0.35)


def random_noise(rng: torch.Generator) -> NoiseModel:
    """Draw a noise model and level for a [0, 1] image (see the module docstring)."""
    kind = _uniform(rng, 0, 1)
    if kind < MIX[0]:
        return GaussianNoise(_uniform(rng, *SIGMA_RANGE) / 255)
    if kind < MIX[0] + MIX[1]:
        photons = math.exp(_uniform(rng, *(math.log(v) for v in PHOTON_RANGE)))
        read = _uniform(rng, *READ_NOISE_RANGE)
        return PoissonGaussianNoise(1 / photons, (read / photons) ** 2, relative=False)
    sigma = _uniform(rng, *CORRELATED_SIGMA_RANGE) / 255
    return CorrelatedNoise(autocorrelation_of_filter(random_filter(rng), sigma))


def random_filter(rng: torch.Generator) -> np.ndarray:
    """Draw a filter of unit energy: Gaussian blur, line (along Y or X) or anisotropic Gaussian."""
    shape = int(torch.randint(3, (1,), generator=rng))
    if shape == 0:
        width = _uniform(rng, *BLUR_RANGE)
        kernel = gaussian_filter(width, width)
    elif shape == 1:
        length = LINE_LENGTHS[int(torch.randint(len(LINE_LENGTHS), (1,), generator=rng))]
        kernel = np.ones((1, length))
        if torch.rand((), generator=rng) < 0.5:
            kernel = kernel.T
    else:
        kernel = gaussian_filter(_uniform(rng, 0.3, 2.0), _uniform(rng, 0.3, 2.0))
    return kernel / np.sqrt((kernel**2).sum())


def gaussian_filter(sigma_y: float, sigma_x: float) -> np.ndarray:
    """Return a sampled 2D Gaussian with odd sides reaching two widths."""
    ry, rx = (max(1, math.ceil(2 * s)) for s in (sigma_y, sigma_x))
    yy, xx = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    return np.exp(-0.5 * ((yy / sigma_y) ** 2 + (xx / sigma_x) ** 2))


def jittered(model: NoiseModel, rng: torch.Generator, spread: float = 0.15) -> NoiseModel:
    """Return the model with its variance scaled by ``exp(N(0, spread))``: an imperfect estimate."""
    factor = math.exp(spread * float(torch.randn((), generator=rng)))
    return model.scaled(factor)


def _uniform(rng: torch.Generator, low: float, high: float) -> float:
    return float(torch.empty(()).uniform_(low, high, generator=rng))

"""Which noise an image has: the registry's model, its parameters and how sure we are.

One source of advice: :func:`estimate_noise` decides the noise model of an image for the
built-in prior's data consistency (*Denoise now*), and the noise report
(:func:`~napari_noise2inpaint.noise.report.noise_report`) words the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_noise2inpaint.noise.blocks import quiet_kernel
from napari_noise2inpaint.noise.estimation import (
    estimate_noise_kernel,
    estimate_poisson_gaussian,
    estimate_sigma,
)
from napari_noise2inpaint.noise.models import (
    CorrelatedNoise,
    GaussianNoise,
    NoiseModel,
    PoissonGaussianNoise,
)
from napari_noise2inpaint.noise.report import MIN_FLAT_BLOCKS, flat_block_evidence

#: Estimates use at most this central crop of a plane (fast on a 2048x2048 plane).
CROP = 512


@dataclass(frozen=True)
class NoiseEstimate:
    """The noise model estimated from an image (intensity units), and whether to trust it.

    Attributes
    ----------
    model : NoiseModel
        White Gaussian, Poisson-Gaussian or correlated, with estimated parameters.
    reliable : bool
        False when the image has too little flat background to tell the kinds apart (the
        model is then white Gaussian with the estimated sigma, the safe choice).
    """

    model: NoiseModel
    reliable: bool

    def text(self) -> str:
        """Return one line for the user, e.g. "correlated noise, about 3x3"."""
        if self.reliable:
            return self.model.describe()
        return f"cannot tell the kind of noise for sure; using {self.model.describe()}"


def estimate_noise(plane: np.ndarray, region: list[int] | None = None) -> NoiseEstimate:
    """Estimate the noise model of a 2D plane.

    Parameters
    ----------
    plane : numpy.ndarray
        2D noisy plane in intensity units.
    region : list of int, optional
        ``[y0, y1, x0, x1]`` background rectangle the user drew; the correlation kernel and
        the white-noise sigma are measured there.

    Returns
    -------
    NoiseEstimate
    """
    full = np.asarray(plane, dtype=np.float64)
    plane = central_crop(full)
    background = plane if region is None else plane_region(full, region)
    sigma = estimate_sigma([background]) if min(background.shape) >= 10 else 0.0
    evidence = flat_block_evidence(plane)
    if evidence is None or sigma <= 0:
        return NoiseEstimate(GaussianNoise(sigma or None), reliable=False)
    suggested, reliable = evidence.suggestion()
    if suggested == "correlated":
        kernel = correlation_kernel(plane, background, region)
        return NoiseEstimate(CorrelatedNoise(kernel), reliable)
    if suggested == "poisson_gaussian":
        gain, offset = estimate_poisson_gaussian([plane])
        return NoiseEstimate(PoissonGaussianNoise(gain, offset, relative=False), reliable)
    return NoiseEstimate(GaussianNoise(sigma), reliable and evidence.blocks >= MIN_FLAT_BLOCKS)


def correlation_kernel(plane: np.ndarray, background: np.ndarray, region) -> np.ndarray:
    """Return the noise's autocorrelation kernel: from the user's region, else quiet blocks."""
    kernel = None if region is not None else quiet_kernel(plane)
    return estimate_noise_kernel(background, detrend=region is None) if kernel is None else kernel


def plane_region(plane: np.ndarray, region: list[int]) -> np.ndarray:
    """Return the ``[y0, y1, x0, x1]`` rectangle of ``plane``, clipped to the plane."""
    y0, y1, x0, x1 = (int(v) for v in region)
    return plane[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]


def central_crop(plane: np.ndarray, side: int = CROP) -> np.ndarray:
    """Return the central ``side x side`` part of a 2D plane (all of a smaller side)."""
    top, left = ((s - min(s, side)) // 2 for s in plane.shape)
    return plane[top : top + side, left : left + side]

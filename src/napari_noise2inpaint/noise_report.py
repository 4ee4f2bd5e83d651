"""Noise report: what the image says about its own noise, and the settings that suit it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import check_array, resolve_channel_axis, to_planes
from .noise_estimation import (
    MAX_ESTIMATE_PLANES,
    estimate_noise_kernel,
    estimate_poisson_gaussian,
    estimate_sigma,
)

# Suggestion limits, checked on synthetic data with known noise (benchmarks/results/trust.md).
MAX_WHITE_CORRELATION = 0.1
MIN_VARIANCE_RATIO = 2.0
BLOCK = 16


@dataclass(frozen=True)
class NoiseReport:
    """Noise estimated from the image itself, and the noise model it suggests.

    Attributes
    ----------
    gain, offset : float
        Fit of ``var(y) = gain * y + offset`` over flat 8x8 blocks (intensity units).
    sigma : float
        Standard deviation of the noise if it were white Gaussian.
    correlation : tuple of float
        Correlation of the noise between neighbouring pixels along Y and along X, measured in
        the flattest 16x16 blocks (0 for pixel-wise independent noise).
    variance_ratio : float
        Noise variance at the bright end (95th percentile) over that at the dark end (5th).
    suggested : str
        Noise model that fits: "gaussian", "poisson_gaussian" or "correlated".
    """

    gain: float
    offset: float
    sigma: float
    correlation: tuple[float, float]
    variance_ratio: float
    suggested: str

    def text(self) -> str:
        """Return one paragraph for the user."""
        reasons = {
            "correlated": (
                "neighbouring pixels' noise is correlated, so use the correlated noise model "
                "(blind-spot methods such as Noise2Void would keep part of this noise)"
            ),
            "poisson_gaussian": (
                "the noise grows with intensity (shot noise), so use the Poisson-Gaussian noise "
                "model with the estimated gain and offset"
            ),
            "gaussian": "the noise is white and about as strong everywhere, so keep the default "
            "white Gaussian noise model",
        }
        return (
            f"Estimated noise: variance = {self.gain:.4g} x intensity + {self.offset:.4g} "
            f"(white-noise sigma {self.sigma:.4g}); the variance is {self.variance_ratio:.2f}x "
            f"higher in bright than in dark regions; neighbour correlation "
            f"{self.correlation[0]:.2f} along Y and {self.correlation[1]:.2f} along X. "
            f"Suggestion: {reasons[self.suggested]}."
        )


def noise_report(image, channel_axis: int | None = None) -> NoiseReport:
    """Estimate the noise of an image or stack and suggest a noise model.

    Parameters
    ----------
    image : array_like
        2D image or stack (leading axes are planes); any integer or float dtype.
    channel_axis : int, optional
        Axis holding channels; the first channel is reported.

    Returns
    -------
    NoiseReport
        Gain, offset, white-noise sigma, neighbour correlation and the suggestion.
    """
    image = check_array(image)
    axis, _ = resolve_channel_axis(image, channel_axis)
    planes, _ = to_planes(image, axis)
    planes = list(planes[0][:MAX_ESTIMATE_PLANES].astype(np.float64))
    gain, offset = estimate_poisson_gaussian(planes)
    sigma = estimate_sigma(planes)
    correlation = _neighbour_correlation(planes[0])
    dark, bright = np.percentile(planes[0], [5, 95])
    ratio = _variance(gain, offset, bright) / _variance(gain, offset, dark)
    if max(abs(c) for c in correlation) > MAX_WHITE_CORRELATION:
        suggested = "correlated"
    elif ratio > MIN_VARIANCE_RATIO:
        suggested = "poisson_gaussian"
    else:
        suggested = "gaussian"
    return NoiseReport(gain, offset, sigma, correlation, float(ratio), suggested)


def _variance(gain: float, offset: float, level: float) -> float:
    return max(gain * level + offset, 1e-12)


def _neighbour_correlation(plane: np.ndarray) -> tuple[float, float]:
    """Lag-1 noise correlation along Y and X, median over the flattest quarter of 16x16 blocks."""
    h, w = (s - s % BLOCK for s in plane.shape)
    blocks = plane[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2)
    blocks = blocks.reshape(-1, BLOCK, BLOCK)
    if len(blocks) < 4:
        kernel = estimate_noise_kernel(plane, radius=1, detrend=True)
        return float(kernel[2, 1] / kernel[1, 1]), float(kernel[1, 2] / kernel[1, 1])
    flatness = [_structure(block) for block in blocks]
    flattest = blocks[np.argsort(flatness)[: max(4, len(blocks) // 4)]]
    along_y, along_x = [], []
    for block in flattest:
        noise = block - _plane_fit(block)
        variance = (noise**2).mean()
        if variance > 0:
            along_y.append((noise[1:] * noise[:-1]).mean() / variance)
            along_x.append((noise[:, 1:] * noise[:, :-1]).mean() / variance)
    if not along_y:
        return 0.0, 0.0
    return float(np.median(along_y)), float(np.median(along_x))


def _structure(block: np.ndarray) -> float:
    """Variance of the block's 4x4 means around a plane: signal, with the noise averaged down."""
    binned = block.reshape(BLOCK // 4, 4, BLOCK // 4, 4).mean(axis=(1, 3))
    return float(np.var(binned - _plane_fit(binned)))


def _plane_fit(block: np.ndarray) -> np.ndarray:
    """Least-squares plane a + b y + c x through a block (removes a local gradient)."""
    yy, xx = np.mgrid[: block.shape[0], : block.shape[1]]
    design = np.stack([np.ones(block.size), yy.ravel(), xx.ravel()], axis=1)
    coefficients = np.linalg.lstsq(design, block.ravel(), rcond=None)[0]
    return (design @ coefficients).reshape(block.shape)

"""Noise report: what the image says about its own noise, and the settings that suit it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_noise2inpaint.data import check_array, resolve_channel_axis, to_planes
from napari_noise2inpaint.errors import InputError

from .estimation import MAX_ESTIMATE_PLANES, estimate_poisson_gaussian, estimate_sigma

# Suggestion limits, checked on synthetic data with known noise (benchmarks/results/trust.md).
MAX_WHITE_CORRELATION = 0.1
MIN_VARIANCE_RATIO = 1.5
BLOCK = 16
#: Fewer flat blocks than this cannot tell the kinds of noise apart.
MIN_FLAT_BLOCKS = 8
#: Evidence this close to a limit is not decisive.
MARGIN_CORRELATION = 0.03
MARGIN_RATIO = 0.2


@dataclass(frozen=True)
class FlatBlockEvidence:
    """What the flattest blocks of a plane say about its noise.

    Attributes
    ----------
    correlation : tuple of float
        Median lag-1 noise correlation along Y and X.
    variance_ratio : float
        Noise variance of the brightest third of the blocks over the darkest third's.
    blocks : int
        Number of flat blocks measured.
    """

    correlation: tuple[float, float]
    variance_ratio: float
    blocks: int

    def suggestion(self) -> tuple[str, bool]:
        """Return the registry name of the noise model that fits, and whether it is clear."""
        strongest = max(abs(c) for c in self.correlation)
        if strongest > MAX_WHITE_CORRELATION:
            suggested, margin = "correlated", strongest - MAX_WHITE_CORRELATION
            clear = margin > MARGIN_CORRELATION
        elif self.variance_ratio > MIN_VARIANCE_RATIO:
            suggested = "poisson_gaussian"
            clear = self.variance_ratio - MIN_VARIANCE_RATIO > MARGIN_RATIO
        else:
            suggested = "gaussian"
            clear = MAX_WHITE_CORRELATION - strongest > MARGIN_CORRELATION
        return suggested, clear and self.blocks >= MIN_FLAT_BLOCKS


def flat_block_evidence(plane: np.ndarray) -> FlatBlockEvidence | None:
    """Measure :class:`FlatBlockEvidence` on a 2D plane (None: too small or constant)."""
    flat = _flat_blocks(np.asarray(plane, dtype=np.float64))
    if flat is None or float(np.max(flat[1])) <= 1e-12:
        return None
    return FlatBlockEvidence(*_correlation_and_ratio(*flat), len(flat[0]))


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
        the flatter half of the 16x16 blocks (0 for pixel-wise independent noise).
    variance_ratio : float
        Noise variance in the brightest third of those flat blocks over that in the darkest
        third (about 1 when the noise does not depend on the intensity).
    suggested : str
        Noise model that fits: "gaussian", "poisson_gaussian" or "correlated".
    reliable : bool
        Whether the evidence is clear (enough flat background, not near a limit).
    """

    gain: float
    offset: float
    sigma: float
    correlation: tuple[float, float]
    variance_ratio: float
    suggested: str
    reliable: bool = True

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
        sign = "+" if self.offset >= 0 else "-"
        measured = (
            f"Measured: noise variance = {self.gain:.3g} x brightness {sign} "
            f"{abs(self.offset):.3g} (about {self.variance_ratio:.1f}x stronger in bright than "
            f"in dark parts); neighbouring pixels' noise correlation {self.correlation[0]:.2f} "
            f"(up-down) and {self.correlation[1]:.2f} (left-right)."
        )
        if not self.reliable:
            return (
                "Cannot tell the kind of noise for sure (too little plain background, or the "
                f"measurements are near a limit); the closest fit: {reasons[self.suggested]}. "
                + measured
            )
        return f"Suggestion: {reasons[self.suggested]}. " + measured


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
    flat = _flat_blocks(np.asarray(planes[0], dtype=np.float64))
    if flat is None:
        raise InputError(
            f"The image is too small for a noise report ({planes[0].shape}); it needs four "
            f"{BLOCK}x{BLOCK} blocks, such as {2 * BLOCK}x{2 * BLOCK} pixels."
        )
    evidence = FlatBlockEvidence(*_correlation_and_ratio(*flat), len(flat[0]))
    suggested, reliable = evidence.suggestion()
    return NoiseReport(
        gain, offset, sigma, evidence.correlation, evidence.variance_ratio, suggested, reliable
    )


def _flat_blocks(plane: np.ndarray):
    """Statistics of the flatter half of the 16x16 blocks (None for fewer than 4 blocks).

    Returns the blocks' mean intensity, noise variance (around a fitted quadratic surface) and lag-1
    noise correlation along Y and X, flattest first.
    """
    h, w = (s - s % BLOCK for s in plane.shape)
    blocks = plane[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2)
    blocks = blocks.reshape(-1, BLOCK, BLOCK)
    if len(blocks) < 4:
        return None
    noises = [block - _surface_fit(block) for block in blocks]
    variances = np.array([max((noise**2).mean(), 1e-12) for noise in noises])
    flatness = np.array([_structure(block) for block in blocks]) / variances
    order = np.argsort(flatness)[: max(4, len(blocks) // 2)]
    along_y = [(noises[i][1:] * noises[i][:-1]).mean() / variances[i] for i in order]
    along_x = [(noises[i][:, 1:] * noises[i][:, :-1]).mean() / variances[i] for i in order]
    means = blocks[order].mean(axis=(1, 2))
    return means, variances[order], np.array(along_y), np.array(along_x)


def _correlation_and_ratio(means, variances, along_y, along_x):
    """Median neighbour correlation (flattest half) and bright-to-dark noise variance ratio."""
    correlation = (float(np.median(along_y)), float(np.median(along_x)))
    by_level = np.argsort(means)
    third = max(1, len(means) // 3)
    dark = np.median(variances[by_level[:third]])
    bright = np.median(variances[by_level[-third:]])
    return correlation, float(bright / dark)


def _structure(block: np.ndarray) -> float:
    """Variance of the block's 4x4 means around a surface: signal (noise is averaged down)."""
    binned = block.reshape(BLOCK // 4, 4, BLOCK // 4, 4).mean(axis=(1, 3))
    return float(np.var(binned - _surface_fit(binned)))


def _surface_fit(block: np.ndarray) -> np.ndarray:
    """Least-squares quadratic surface through a block (removes local gradients and curvature)."""
    yy, xx = np.mgrid[: block.shape[0], : block.shape[1]]
    y, x = yy.ravel() / block.shape[0], xx.ravel() / block.shape[1]
    design = np.stack([np.ones(block.size), y, x, y * y, x * x, x * y], axis=1)
    coefficients = np.linalg.lstsq(design, block.ravel(), rcond=None)[0]
    return (design @ coefficients).reshape(block.shape)

"""Noise report: what the image says about its own noise, and the settings that suit it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_noise2inpaint.engine.data import check_array, resolve_channel_axis, to_planes
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.noise.blocks import BLOCK, FlatBlocks, flat_blocks
from napari_noise2inpaint.noise.estimation import (
    MAX_ESTIMATE_PLANES,
    estimate_poisson_gaussian,
    estimate_sigma,
)

# Suggestion limits, checked on synthetic data with known noise (benchmarks/results/trust.md);
# the correlation limit lies between white noise on train400 images at sigma 15 (90th
# percentile 0.14: texture) and the weakest correlated noise (Gaussian blur 0.5 px, 10th
# percentile 0.20).
MAX_WHITE_CORRELATION = 0.15
MIN_VARIANCE_RATIO = 1.5
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
        Median lag-1 noise correlation along Y and X in the quiet blocks.
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
    flat = flat_blocks(plane)
    if flat is None or float(np.max(flat.variances)) <= 1e-12:
        return None
    return _evidence(flat)


def _evidence(flat: FlatBlocks) -> FlatBlockEvidence:
    """Neighbour correlation (median over the quiet blocks) and bright-to-dark variance ratio."""
    quiet = flat.quiet()
    variances = (quiet**2).mean(axis=(1, 2))
    along_y = (quiet[:, 1:] * quiet[:, :-1]).mean(axis=(1, 2)) / variances
    along_x = (quiet[:, :, 1:] * quiet[:, :, :-1]).mean(axis=(1, 2)) / variances
    correlation = (float(np.median(along_y)), float(np.median(along_x)))
    by_level = np.argsort(flat.means)
    third = max(1, len(flat.means) // 3)
    dark = np.median(flat.variances[by_level[:third]])
    bright = np.median(flat.variances[by_level[-third:]])
    return FlatBlockEvidence(correlation, float(bright / dark), len(flat.means))


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
        the quiet 16x16 blocks (:mod:`~napari_noise2inpaint.noise.blocks`; 0 for pixel-wise
        independent noise).
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
    flat = flat_blocks(planes[0])
    if flat is None:
        raise InputError(
            f"The image is too small for a noise report ({planes[0].shape}); it needs four "
            f"{BLOCK}x{BLOCK} blocks, such as {2 * BLOCK}x{2 * BLOCK} pixels."
        )
    evidence = _evidence(flat)
    suggested, reliable = evidence.suggestion()
    return NoiseReport(
        gain, offset, sigma, evidence.correlation, evidence.variance_ratio, suggested, reliable
    )

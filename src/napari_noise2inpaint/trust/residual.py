"""Residual check: whether what the denoiser removed (input minus output) is only noise.

Where a denoiser removes noise alone, the residual looks like the noise: neighbouring residual
pixels are no more correlated than the noise's (a good denoiser's residual is even a little
less: it keeps the smoothest part of the noise), and the residual hardly follows the result's
edges. An over-smoothed result leaves smooth patches of signal in the residual, which raise its
correlation at lags 1-2 above that of pure noise simulated from the noise model (white,
Poisson-Gaussian or correlated), and lines and edges, which correlate with the result's detail.
Either sign gives the verdict "structure"; the limits were measured on good and over-smoothed
results (``benchmarks/results/trust.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from napari_noise2inpaint.engine.data import check_array, resolve_channel_axis, to_planes
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.noise import (
    CorrelatedNoise,
    GaussianNoise,
    PoissonGaussianNoise,
    noise_class,
)
from napari_noise2inpaint.noise.estimation import estimate_poisson_gaussian

LAGS = (1, 2)
# Limits measured on good and over-smoothed results (benchmarks/results/trust.md).
MAX_EXCESS_CORRELATION = 0.03
MAX_EDGE_CORRELATION = 0.35
MIN_PIXELS = 32 * 32


@dataclass(frozen=True)
class ResidualCheck:
    """How white the residual is, next to the same numbers for pure noise.

    Attributes
    ----------
    lag_correlation, noise_lag_correlation : tuple of float
        Normalised autocorrelation (mean of the Y and X directions) at lags 1 and 2 of the
        residual and of simulated pure noise.
    edge_correlation, noise_edge_correlation : float
        Correlation of the residual (and of pure noise) with the result's detail (minus its
        Laplacian): positive when the result lost edges or lines.
    looks_like_noise : bool
        No lag's correlation exceeds pure noise's by more than ``MAX_EXCESS_CORRELATION`` and
        the edge correlation is at most ``MAX_EDGE_CORRELATION``.
    verdict : str
        One line for the user.
    """

    lag_correlation: tuple[float, ...]
    noise_lag_correlation: tuple[float, ...]
    edge_correlation: float
    noise_edge_correlation: float
    looks_like_noise: bool
    verdict: str

    @property
    def excess(self) -> float:
        """Largest excess of the residual's lag correlation over pure noise's."""
        pairs = zip(self.lag_correlation, self.noise_lag_correlation, strict=True)
        return max(ours - ref for ours, ref in pairs)

    def text(self) -> str:
        """Return the verdict with the numbers behind it."""
        lags = ", ".join(
            f"lag {lag} {ours:.3f} (noise {ref:.3f})"
            for lag, ours, ref in zip(
                LAGS, self.lag_correlation, self.noise_lag_correlation, strict=True
            )
        )
        return (
            f"{self.verdict} Residual autocorrelation: {lags}; correlation with the result's "
            f"edges {self.edge_correlation:.3f} (noise {self.noise_edge_correlation:.3f})."
        )


def check_residual(
    noisy,
    denoised,
    *,
    noise_model: str = "poisson_gaussian",
    noise_kernel=None,
    rng: torch.Generator | None = None,
) -> ResidualCheck:
    """Compare the residual ``noisy - denoised`` of a 2D plane with pure noise.

    Parameters
    ----------
    noisy, denoised : array_like
        The input and the result, same 2D shape (for stacks, pass one plane).
    noise_model : {"gaussian", "poisson_gaussian", "correlated"}
        How to simulate pure noise: white with the residual's variance, Poisson-Gaussian
        with gain and offset estimated from ``noisy`` around ``denoised``, or white noise
        filtered to ``noise_kernel``'s autocorrelation.
    noise_kernel : array_like, optional
        Noise autocorrelation kernel (odd square, centre = variance) for "correlated".
    rng : torch.Generator, optional
        Draws the simulated noise; defaults to one seeded with 0.

    Returns
    -------
    ResidualCheck
        The statistics and a one-line verdict.
    """
    noisy, denoised = _planes(noisy, denoised)
    residual = noisy - denoised
    reference = _simulated_noise(noisy, denoised, noise_model, noise_kernel, rng)
    detail = _detail(denoised)
    ours = tuple(_lag_correlation(residual, lag) for lag in LAGS)
    theirs = tuple(_lag_correlation(reference, lag) for lag in LAGS)
    edge, noise_edge = _correlation(residual, detail), _correlation(reference, detail)
    excess = max(a - b for a, b in zip(ours, theirs, strict=True))
    clean = excess <= MAX_EXCESS_CORRELATION and edge <= MAX_EDGE_CORRELATION
    verdict = (
        "Residual looks like noise."
        if clean
        else "Residual contains structure: the result may be over-smoothed."
    )
    return ResidualCheck(ours, theirs, edge, noise_edge, clean, verdict)


def check_residual_of_image(noisy, denoised, model=None, channel_axis: int | None = None):
    """Check the residual of the first 2D plane of an image or stack.

    Parameters
    ----------
    noisy, denoised : array_like
        The input and the result, same shape.
    model : TrainedModel, optional
        Its noise model (and kernel) give the pure-noise reference; Poisson-Gaussian noise
        estimated from the image otherwise.
    channel_axis : int, optional
        Axis holding channels (the first channel is checked).

    Returns
    -------
    ResidualCheck
    """
    noisy = check_array(np.asarray(noisy))
    axis, _ = resolve_channel_axis(noisy, channel_axis)
    kwargs = {}
    if model is not None and model.config.method == "n2i":
        kwargs = {
            "noise_model": model.config.noise_model,
            "noise_kernel": model.config.noise_kernel,
        }
    return check_residual(
        to_planes(noisy, axis)[0][0, 0], to_planes(np.asarray(denoised), axis)[0][0, 0], **kwargs
    )


def _planes(noisy, denoised) -> tuple[np.ndarray, np.ndarray]:
    noisy = np.asarray(noisy, dtype=np.float64)
    denoised = np.asarray(denoised, dtype=np.float64)
    if noisy.shape != denoised.shape or noisy.ndim != 2:
        raise InputError(
            f"The residual check needs two 2D planes of one shape, got {noisy.shape} "
            f"and {denoised.shape}."
        )
    if noisy.size < MIN_PIXELS or not np.isfinite(noisy).all() or not np.isfinite(denoised).all():
        raise InputError("The residual check needs at least 32x32 finite pixels.")
    return noisy, denoised


def _simulated_noise(noisy, denoised, noise_model, kernel, rng) -> np.ndarray:
    rng = rng or torch.Generator().manual_seed(0)
    white = torch.randn(noisy.shape, generator=rng, dtype=torch.float64).numpy()
    kind = noise_class(noise_model)
    if kind is GaussianNoise:
        return white * np.std(noisy - denoised)
    if kind is PoissonGaussianNoise:
        gain, offset = estimate_poisson_gaussian([noisy])
        return white * np.sqrt(np.maximum(gain * denoised + offset, 1e-12))
    if kind is CorrelatedNoise:
        if kernel is None:
            raise InputError("The residual check of correlated noise needs the noise kernel.")
        return _filtered(white, np.asarray(kernel, dtype=np.float64))
    raise InputError(f"Unknown noise model {noise_model!r}.")


def _filtered(white: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """White noise with the autocorrelation ``kernel`` (its spectrum's square root as filter)."""
    h, w = white.shape
    r = kernel.shape[0] // 2
    padded = np.zeros((h, w))
    rows = np.arange(-r, r + 1) % h
    cols = np.arange(-r, r + 1) % w
    padded[np.ix_(rows, cols)] = kernel
    spectrum = np.sqrt(np.maximum(np.fft.fft2(padded).real, 0))
    return np.fft.ifft2(np.fft.fft2(white) * spectrum).real


def _detail(image: np.ndarray) -> np.ndarray:
    """Minus the 4-neighbour Laplacian: large on the bright side of edges and on thin lines."""
    padded = np.pad(image, 1, mode="reflect")
    neighbours = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return 4 * image - neighbours


def _lag_correlation(values: np.ndarray, lag: int) -> float:
    values = values - values.mean()
    variance = (values**2).mean()
    if variance == 0:
        return 0.0
    down = (values[lag:] * values[:-lag]).mean()
    right = (values[:, lag:] * values[:, :-lag]).mean()
    return float((down + right) / (2 * variance))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / norm) if norm > 0 else 0.0

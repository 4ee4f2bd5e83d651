"""Estimating noise parameters from the noisy data itself."""

from __future__ import annotations

import numpy as np

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.noise.blocks import quiet_kernel

BLOCK = 8
MIN_REGION = 16


def _block_statistics(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean intensity and noise variance of 8x8 blocks, from horizontal second differences.

    ``(y[i-1] - 2 y[i] + y[i+1]) / sqrt(6)`` cancels any locally linear signal and has the
    (weighted) average variance of the three pixels.
    """
    plane = np.asarray(plane, dtype=np.float64)
    diff = (plane[:, :-2] - 2 * plane[:, 1:-1] + plane[:, 2:]) / np.sqrt(6)
    level = (plane[:, :-2] + 4 * plane[:, 1:-1] + plane[:, 2:]) / 6
    h, w = (s - s % BLOCK for s in diff.shape)
    if h == 0 or w == 0:
        raise InputError(f"The image is too small to estimate noise from ({plane.shape}).")

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2)

    means = blocks(level).mean(axis=(-1, -2)).ravel()
    variances = blocks(diff).var(axis=(-1, -2), ddof=1).ravel()
    return means, variances


def estimate_poisson_gaussian(planes, bins: int = 16) -> tuple[float, float]:
    """Fit ``var(y) = gain * mean + offset`` to flat 8x8 blocks of the planes.

    Blocks are grouped by mean intensity into quantile bins and the mean variance of each bin
    is fitted by weighted least squares. Blocks with structure (edges) have far more variance
    than the fit predicts; they are dropped and the fit repeated.

    Parameters
    ----------
    planes : sequence of numpy.ndarray
        2D noisy planes in intensity units.
    bins : int
        Number of intensity bins.

    Returns
    -------
    tuple of float
        ``(gain, offset)``; gain is clipped at 0.
    """
    stats = [_block_statistics(p) for p in planes]
    means = np.concatenate([s[0] for s in stats])
    variances = np.concatenate([s[1] for s in stats])
    flat = np.ones(len(means), dtype=bool)
    gain, offset = 0.0, float(np.median(variances))
    for _ in range(4):
        gain, offset = _fit_bins(means[flat], variances[flat], bins, (gain, offset))
        predicted = np.maximum(gain * means + offset, 1e-12)
        flat = variances < 2.5 * predicted  # far above any flat block's sampling spread
        if flat.sum() < 10:
            break
    return gain, offset


def _fit_bins(means, variances, bins, fallback) -> tuple[float, float]:
    edges = np.unique(np.quantile(means, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, means, side="right") - 1, 0, len(edges) - 2)
    xs, ys, counts = [], [], []
    for b in range(len(edges) - 1):
        chosen = which == b
        if chosen.sum() >= 3:
            xs.append(np.median(means[chosen]))
            ys.append(np.mean(variances[chosen]))
            counts.append(chosen.sum())
    if len(xs) < 2:
        return fallback
    sw = np.sqrt(np.asarray(counts, dtype=np.float64))
    design = np.stack([np.asarray(xs), np.ones(len(xs))], axis=1) * sw[:, None]
    gain, offset = np.linalg.lstsq(design, np.asarray(ys) * sw, rcond=None)[0]
    if gain < 0:
        return 0.0, float(np.median(variances))
    return float(gain), float(offset)


def estimate_sigma(planes) -> float:
    """Estimate the standard deviation of white Gaussian noise (median over 8x8 blocks)."""
    usable = [p for p in planes if p.shape[0] >= BLOCK and p.shape[1] >= BLOCK + 2]
    if not usable:
        return 0.0
    variances = np.concatenate([_block_statistics(p)[1] for p in usable])
    return float(np.sqrt(np.median(variances)))


def estimate_noise_kernel(region: np.ndarray, radius: int = 2, detrend: bool = False) -> np.ndarray:
    """Autocorrelation kernel of stationary noise from a background region.

    Parameters
    ----------
    region : numpy.ndarray
        2D patch without structure (background); its mean is removed.
    radius : int
        Half-size of the returned ``(2r+1) x (2r+1)`` kernel.
    detrend : bool
        Remove a 15x15 local mean first (for regions that are not flat, such as a whole image).

    Returns
    -------
    numpy.ndarray
        Kernel whose centre is the noise variance.
    """
    region = np.asarray(region, dtype=np.float64)
    if region.ndim != 2 or min(region.shape) < max(MIN_REGION, 4 * radius + 1):
        raise InputError(
            f"The noise region is too small ({region.shape}); draw at least "
            f"{MIN_REGION}x{MIN_REGION} pixels of background."
        )
    noise = region - (_box_mean(region, 7) if detrend else region.mean())
    h, w = noise.shape
    spectrum = np.fft.rfft2(noise, s=(2 * h, 2 * w))
    corr = np.fft.irfft2(np.abs(spectrum) ** 2, s=(2 * h, 2 * w))
    ones = np.fft.rfft2(np.ones_like(noise), s=(2 * h, 2 * w))
    overlap = np.fft.irfft2(np.abs(ones) ** 2, s=(2 * h, 2 * w))
    rows = np.arange(-radius, radius + 1) % (2 * h)
    cols = np.arange(-radius, radius + 1) % (2 * w)
    kernel = corr[np.ix_(rows, cols)] / np.round(overlap[np.ix_(rows, cols)])
    if kernel[radius, radius] <= 0:
        raise InputError("The noise region has no variation; pick a region with noise.")
    return (kernel + kernel[::-1, ::-1]) / 2


def _box_mean(image: np.ndarray, half: int) -> np.ndarray:
    padded = np.pad(image, half, mode="reflect")
    cumulative = padded.cumsum(0).cumsum(1)
    cumulative = np.pad(cumulative, ((1, 0), (1, 0)))
    size = 2 * half + 1
    total = (
        cumulative[size:, size:]
        - cumulative[:-size, size:]
        - cumulative[size:, :-size]
        + cumulative[:-size, :-size]
    )
    return total / size**2


def autocorrelation_of_filter(kernel: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Autocorrelation of noise made by convolving white noise (std ``sigma``) with ``kernel``."""
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    out = np.zeros((2 * kh - 1, 2 * kw - 1))
    for dy in range(-(kh - 1), kh):
        for dx in range(-(kw - 1), kw):
            a = kernel[max(0, dy) : kh + min(0, dy), max(0, dx) : kw + min(0, dx)]
            b = kernel[max(0, -dy) : kh + min(0, -dy), max(0, -dx) : kw + min(0, -dx)]
            out[dy + kh - 1, dx + kw - 1] = (a * b).sum()
    return out * sigma**2


MAX_ESTIMATE_PLANES = 16


def resolve_noise_parameters(config, stacks: list[np.ndarray], notes: list[str]):
    """Return ``config`` with the noise parameters it leaves open estimated from the data.

    Parameters
    ----------
    config : Noise2InpaintConfig
        The training configuration.
    stacks : list of numpy.ndarray
        Raw ``(channels, planes, H, W)`` training data (intensity units).
    notes : list of str
        Messages for the user; estimates are appended.
    """
    if config.noise_model in ("poisson_gaussian", "correlated") and stacks[0].shape[0] > 1:
        raise InputError(
            "Poisson-Gaussian and correlated noise models need single-channel data; "
            "denoise the channels one at a time."
        )
    planes = [plane for stack in stacks for plane in stack[0]][:MAX_ESTIMATE_PLANES]
    changes = {}
    if config.noise_sigma is None and config.noise_model == "gaussian":
        sigma = estimate_sigma(planes)
        changes["noise_sigma"] = sigma if sigma > 0 else None
    if config.noise_model == "poisson_gaussian" and config.noise_gain is None:
        gain, offset = estimate_poisson_gaussian(planes)
        changes.update(noise_gain=gain, noise_offset=offset)
        notes.append(f"Estimated Poisson-Gaussian noise: gain {gain:.4g}, offset {offset:.4g}.")
    if config.noise_model == "correlated" and config.noise_kernel is None:
        region = config.noise_region
        if region is None:
            kernel = quiet_kernel(planes[0])
            kernel = estimate_noise_kernel(planes[0], detrend=True) if kernel is None else kernel
        else:
            kernel = estimate_noise_kernel(_region_of(planes[0], region))
        changes["noise_kernel"] = kernel.tolist()
        centre = kernel[kernel.shape[0] // 2, kernel.shape[1] // 2]
        size = "x".join(str(n) for n in kernel.shape)
        notes.append(f"Estimated correlated noise: variance {centre:.4g}, {size} kernel.")
    return config.replace(**changes) if changes else config


def _region_of(plane: np.ndarray, region: list[int]) -> np.ndarray:
    """Return the ``[y0, y1, x0, x1]`` rectangle of ``plane``; it must lie inside the plane."""
    height, width = plane.shape
    if region[1] > height or region[3] > width:
        raise InputError(
            f"The noise region {region} reaches outside the first plane ({height}x{width})."
        )
    return plane[region[0] : region[1], region[2] : region[3]]

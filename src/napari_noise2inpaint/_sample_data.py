"""Synthetic noisy fluorescence sample: blobs and filaments with Poisson-Gaussian noise.

The generator uses numpy only, so it can be used in tests and scripts without napari.
"""

from __future__ import annotations

import numpy as np

SAMPLE_SHAPE = (5, 256, 256)


def gaussian_blur(planes: np.ndarray, sigma: float) -> np.ndarray:
    """Blur the last two axes with a periodic Gaussian kernel (FFT, numpy only)."""
    fy = np.fft.fftfreq(planes.shape[-2])[:, None]
    fx = np.fft.rfftfreq(planes.shape[-1])[None, :]
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    spectrum = np.fft.rfft2(planes) * kernel
    return np.fft.irfft2(spectrum, s=planes.shape[-2:])


def _draw_filaments(plane: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Add smooth random curves (persistent random walks) of unit intensity to ``plane``."""
    height, width = plane.shape
    for _ in range(count):
        position = rng.uniform((0, 0), (height, width))
        angle = rng.uniform(0, 2 * np.pi)
        turns = np.cumsum(rng.normal(0, 0.08, 400))
        path = position + np.cumsum(
            0.5 * np.stack([np.sin(angle + turns), np.cos(angle + turns)], axis=1), axis=0
        )
        rows, cols = (np.round(path).astype(int) % (height, width)).T
        np.add.at(plane, (rows, cols), 1.0)


def _add_blob(plane: np.ndarray, rng: np.random.Generator) -> None:
    """Add one Gaussian spot of random position, radius and brightness, within 4 radii."""
    cy, cx = rng.uniform(0, plane.shape[0]), rng.uniform(0, plane.shape[1])
    radius, brightness = rng.uniform(2, 7), rng.uniform(0.3, 1.0)
    y0, y1 = max(0, int(cy - 4 * radius)), min(plane.shape[0], int(cy + 4 * radius) + 1)
    x0, x1 = max(0, int(cx - 4 * radius)), min(plane.shape[1], int(cx + 4 * radius) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    plane[y0:y1, x0:x1] += brightness * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))


def noisy_fluorescence(
    shape: tuple[int, ...] = SAMPLE_SHAPE,
    seed: int = 0,
    peak_photons: float = 20.0,
    read_noise: float = 2.0,
    return_clean: bool = False,
):
    """Make a deterministic fluorescence-like image with Poisson-Gaussian camera noise.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` or ``(planes, height, width)``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same image.
    peak_photons : float
        Expected photons at the brightest structures (lower means noisier).
    read_noise : float
        Standard deviation of the Gaussian camera noise, in counts.
    return_clean : bool
        Also return the noise-free image, scaled like the noisy one.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        The noisy image as uint16 counts (offset 100), and the clean float32 image when
        ``return_clean`` is true.
    """
    rng = np.random.default_rng(seed)
    planes = np.zeros((int(np.prod(shape[:-2], dtype=int)), *shape[-2:]))
    for plane in planes:
        for _ in range(max(4, plane.size // 2000)):
            _add_blob(plane, rng)
        filaments = np.zeros_like(plane)
        _draw_filaments(filaments, rng, count=max(2, plane.size // 8000))
        plane += 0.8 * np.minimum(gaussian_blur(filaments, 1.0) * 4, 1.0)
    clean = peak_photons * (planes / planes.max() + 0.05)
    noisy = rng.poisson(clean) + rng.normal(100.0, read_noise, clean.shape)
    noisy = np.clip(np.round(noisy), 0, 65535).astype(np.uint16).reshape(shape)
    if return_clean:
        return noisy, (clean + 100.0).astype(np.float32).reshape(shape)
    return noisy


def make_sample_data():
    """Provide the sample to napari: a noisy 5-plane fluorescence-like stack.

    Returns
    -------
    list of tuple
        One napari layer-data tuple ``(data, kwargs, "image")``.
    """
    data = noisy_fluorescence()
    kwargs = {
        "name": "Noisy fluorescence",
        "scale": (1.0, 0.1, 0.1),
        "axis_labels": ("z", "y", "x"),
        "units": ("micrometer", "micrometer", "micrometer"),
    }
    return [(data, kwargs, "image")]

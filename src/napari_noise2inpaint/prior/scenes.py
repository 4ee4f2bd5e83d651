"""Clean synthetic scenes for the prior: confocal-like spots and filaments, widefield-like views.

Widefield images are smooth: the structures are blurred by the microscope's point spread
function, out-of-focus light adds a haze, and illumination leaves uneven backgrounds. The
widefield generator builds such a view from a confocal-like scene. numpy only.
"""

from __future__ import annotations

import numpy as np

from napari_noise2inpaint._sample_data import gaussian_blur, noisy_fluorescence


def confocal_scene(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Return sharp spots and filaments on a dark background, scaled to [0, 1]."""
    _, clean = noisy_fluorescence(shape, seed=seed, return_clean=True)
    return unit_range(clean)


def widefield_scene(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Return a confocal-like scene seen through a widefield microscope, scaled to [0, 1].

    The scene is blurred by a Gaussian PSF of 1-3.5 pixels, a second scene blurred by 8-20
    pixels adds out-of-focus haze, and a random linear gradient the uneven illumination.
    """
    rng = np.random.default_rng(seed)
    in_focus = confocal_scene(shape, seed)
    out_of_focus = confocal_scene(shape, seed + 1_000_000)
    image = gaussian_blur(in_focus, rng.uniform(1.0, 3.5))
    image = image + rng.uniform(0.2, 1.5) * gaussian_blur(out_of_focus, rng.uniform(8, 20))
    yy, xx = np.mgrid[: shape[0], : shape[1]] / max(shape)
    slope = rng.normal(0, 0.3, 2)
    image = image + rng.uniform(0, 0.5) * (1 + slope[0] * yy + slope[1] * xx)
    return unit_range(image)


def unit_range(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] between the 0.1 and 99.9 percentiles (clipped), float32."""
    low, high = np.percentile(image, (0.1, 99.9))
    return np.clip((image - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)

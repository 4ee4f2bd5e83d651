"""The evaluation images of the physics benchmarks: noisy, clean and the true noise.

Every case is a dict with ``name``, ``noisy``, ``clean``, ``range`` (PSNR data range),
``noise`` (the true noise in intensity units: a ``napari_noise2inpaint.noise`` object, fitted
on the pair for real data) and ``kind`` ("gaussian", "poisson_gaussian", "correlated").
None of these images was used to train or tune the built-in prior: set12 and FMD are excluded
from its data, the synthetic scenes use seeds below its training seeds.
"""

from __future__ import annotations

import common
import numpy as np
from scipy.ndimage import convolve

from napari_noise2inpaint import noisy_fluorescence
from napari_noise2inpaint.noise import CorrelatedNoise, GaussianNoise, PoissonGaussianNoise

KERNELS = {
    "gaussian3x3": np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25]),
    "line1x5": np.full((1, 5), 0.2),
}
FMD_PAIRS = {
    "fmd_confocal_fish": ("Confocal_FISH_3.png", "gt_Confocal_FISH_3.png"),
    "fmd_bpae_r": ("BPAE_R_Channel_noisy_image.png", "BPAE_R_Channel_gt_image.png"),
}
SET12_SMALL = ["01", "02", "03", "04", "05", "06", "07"]  # the 256x256 images
KEEP_RULE_SET12 = ["02", "04", "05", "07"]
CORRELATED_SIGMA = 25.0


def gaussian_case(data, image: str, sigma: float, seed: int) -> dict:
    """A set12 image with white Gaussian noise of ``sigma``."""
    clean = common.load_gray(data / "set12" / f"{image}.png")
    noisy = common.add_noise([clean], sigma, seed)[0]
    return _case(f"set12_{image}_s{sigma:g}", noisy, clean, 255.0, GaussianNoise(sigma))


def correlated_case(data, image: str, kernel_name: str, seed: int) -> dict:
    """A set12 image with Gaussian noise correlated by one of :data:`KERNELS` (sigma 25)."""
    clean = common.load_gray(data / "set12" / f"{image}.png")
    rng = np.random.default_rng(seed)
    blur = KERNELS[kernel_name]
    unit = blur / np.sqrt((blur**2).sum())
    noise = CORRELATED_SIGMA * convolve(rng.normal(0, 1, clean.shape), unit, mode="wrap")
    truth = CorrelatedNoise(_autocorrelation(unit) * CORRELATED_SIGMA**2)
    name = f"set12_{image}_{kernel_name}"
    return _case(name, (clean + noise).astype(np.float32), clean, 255.0, truth)


def fluorescence_case(seed: int) -> dict:
    """The package's synthetic Poisson-Gaussian scene (variance = counts - 100 + 4)."""
    noisy, clean = noisy_fluorescence((256, 256), seed=seed, return_clean=True)
    truth = PoissonGaussianNoise(1.0, -96.0, relative=False)
    value_range = float(clean.max() - clean.min())
    return _case(f"synthetic_pg_{seed}", noisy.astype(np.float32), clean, value_range, truth)


def fmd_case(data, name: str) -> dict:
    """A real FMD pair; its noise model is fitted on noisy vs the 50-frame average."""
    folder = data / "microscopy_pairs" / "fmd"
    noisy, clean = (common.load_gray(folder / f) for f in FMD_PAIRS[name])
    residual = noisy.astype(np.float64) - clean
    gain, offset = np.polyfit(clean.ravel(), residual.ravel() ** 2, 1)
    truth = PoissonGaussianNoise(float(gain), float(offset), relative=False)
    return _case(name, noisy, clean, 255.0, truth)


def prior_cases(data, seed: int = 0) -> list[dict]:
    """set12 01-07 at sigma 15/25/50, both FMD pairs, two synthetic scenes, correlated."""
    cases = [gaussian_case(data, i, s, seed) for s in (15, 25, 50) for i in SET12_SMALL]
    return cases + _physics_cases(data, seed)


def keep_rule_cases(data, seed: int = 0) -> list[dict]:
    """Twenty cases for adaptation: four set12 images at three sigmas and the physics cases."""
    cases = [gaussian_case(data, i, s, seed) for s in (15, 25, 50) for i in KEEP_RULE_SET12]
    return cases + _physics_cases(data, seed)


def _physics_cases(data, seed: int) -> list[dict]:
    cases = [fmd_case(data, name) for name in FMD_PAIRS]
    cases += [fluorescence_case(s) for s in (1, 2)]
    return cases + [
        correlated_case(data, image, kernel, seed) for kernel in KERNELS for image in ("02", "05")
    ]


def _autocorrelation(unit: np.ndarray) -> np.ndarray:
    """Autocorrelation of a unit-energy kernel (the noise's covariance kernel)."""
    from scipy.signal import correlate

    return correlate(unit, unit, mode="full")


def _case(name, noisy, clean, value_range, noise) -> dict:
    kind = type(noise).name
    return {
        "name": name,
        "noisy": noisy,
        "clean": clean,
        "range": value_range,
        "noise": noise,
        "kind": kind,
    }

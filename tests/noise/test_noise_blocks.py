"""The quiet blocks: noise correlation that texture barely biases, surface removal undone."""

import numpy as np
import pytest
from scipy.ndimage import convolve, gaussian_filter

from napari_noise2inpaint.noise import CorrelatedNoise, GaussianNoise, blocks
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter
from napari_noise2inpaint.noise.identify import estimate_noise
from napari_noise2inpaint.noise.report import MAX_WHITE_CORRELATION, flat_block_evidence

KERNELS = {
    "white": np.ones((1, 1)),
    "3x3": np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25]),
    "line 1x5": np.full((1, 5), 0.2),
}


def _noise(kernel, shape=(512, 512), sigma=10.0, seed=0):
    unit = kernel / np.sqrt((kernel**2).sum())
    white = np.random.default_rng(seed).normal(0, 1, shape)
    return sigma * convolve(white, unit, mode="wrap"), autocorrelation_of_filter(unit, sigma)


def _centred(kernel, radius=2):
    out = np.zeros((2 * radius + 1, 2 * radius + 1))
    ry, rx = (min(s // 2, radius) for s in kernel.shape)
    cy, cx = kernel.shape[0] // 2, kernel.shape[1] // 2
    out[radius - ry : radius + ry + 1, radius - rx : radius + rx + 1] = kernel[
        cy - ry : cy + ry + 1, cx - rx : cx + rx + 1
    ]
    return out


@pytest.mark.parametrize("name", list(KERNELS))
def test_undoing_the_surface_removal_recovers_a_stationary_covariance(name):
    noise, truth = _noise(KERNELS[name])
    cut = noise.reshape(32, 16, 32, 16).swapaxes(1, 2).reshape(-1, 16, 16)
    residuals = cut - blocks._surfaces(cut)
    raw = blocks._lag_products(residuals).mean(axis=0)
    solved = blocks._kernel_from_lags(np.linalg.solve(blocks._surface_effect(), raw))
    centre = blocks.SOLVE_RADIUS
    estimate = solved[centre - 2 : centre + 3, centre - 2 : centre + 3]
    np.testing.assert_allclose(estimate, _centred(truth), atol=0.04 * truth.max())
    assert raw[0] < 0.99 * truth.max()  # without the correction the variance is too low


@pytest.mark.parametrize("name", list(KERNELS))
def test_quiet_kernel_recovers_the_noise_kernel_within_a_quarter(name):
    noise, truth = _noise(KERNELS[name])
    estimate = blocks.quiet_kernel(noise + 100)
    variance = truth.max()
    assert 0.75 * variance < estimate[2, 2] < 1.05 * variance
    shape_error = np.abs(estimate / estimate[2, 2] - _centred(truth) / variance).max()
    assert shape_error < 0.12


def test_texture_everywhere_is_not_taken_for_correlated_noise():
    """Fine texture of varying strength over the whole image, white noise sigma 15."""
    rng = np.random.default_rng(0)
    texture = gaussian_filter(rng.normal(0, 1, (256, 256)), 1.0)
    texture *= 20 / texture.std() * (0.25 + np.linspace(0, 1, 256)[None, :])
    noisy = 100 + texture + rng.normal(0, 15, (256, 256))
    assert max(flat_block_evidence(noisy).correlation) < MAX_WHITE_CORRELATION
    assert isinstance(estimate_noise(noisy).model, GaussianNoise)


def test_correlated_noise_on_the_same_texture_is_found_with_its_variance():
    rng = np.random.default_rng(1)
    texture = gaussian_filter(rng.normal(0, 1, (256, 256)), 1.0)
    texture *= 20 / texture.std() * (0.25 + np.linspace(0, 1, 256)[None, :])
    noise, truth = _noise(KERNELS["3x3"], (256, 256), sigma=15.0, seed=2)
    estimate = estimate_noise(100 + texture + noise).model
    assert isinstance(estimate, CorrelatedNoise)
    assert estimate.kernel[2, 2] == pytest.approx(truth.max(), rel=0.3)


def test_too_small_or_constant_planes_have_no_quiet_kernel():
    assert blocks.quiet_kernel(np.zeros((20, 20))) is None
    assert blocks.quiet_kernel(np.full((64, 64), 7.0)) is None

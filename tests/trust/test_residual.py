import numpy as np
import pytest
import torch
from conftest import synthetic_scene
from scipy.ndimage import convolve, gaussian_filter

from napari_noise2inpaint import InputError
from napari_noise2inpaint._sample_data import noisy_fluorescence
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter
from napari_noise2inpaint.trust.residual import (
    MAX_EDGE_CORRELATION,
    MAX_EXCESS_CORRELATION,
    check_residual,
)

KERNEL = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])


def poisson_scene(seed=0):
    clean, _ = synthetic_scene(128)
    rng = np.random.default_rng(seed)
    return clean, (2.0 * rng.poisson(clean / 2.0) + rng.normal(0, 4, clean.shape)).astype(
        np.float32
    )


@pytest.mark.parametrize("model", ["gaussian", "poisson_gaussian"])
def test_perfect_result_leaves_noise(model):
    clean, noisy = synthetic_scene(128, sigma=20)
    check = check_residual(noisy, clean, noise_model=model)
    assert check.looks_like_noise
    assert check.verdict == "Residual looks like noise."
    assert abs(check.lag_correlation[0]) < 0.05 and abs(check.edge_correlation) < 0.05


def test_over_smoothed_result_leaves_structure():
    clean, noisy = poisson_scene()
    check = check_residual(noisy, gaussian_filter(noisy, 4.0), noise_model="poisson_gaussian")
    assert not check.looks_like_noise
    assert check.verdict.startswith("Residual contains structure")
    assert check.lag_correlation[0] > check.noise_lag_correlation[0] + 0.1


def test_correlated_noise_is_compared_with_correlated_reference():
    clean, _ = synthetic_scene(128)
    unit = KERNEL / np.sqrt((KERNEL**2).sum())
    noise = 15 * convolve(np.random.default_rng(0).normal(0, 1, clean.shape), unit, mode="wrap")
    kernel = autocorrelation_of_filter(unit, 15)
    check = check_residual(clean + noise, clean, noise_model="correlated", noise_kernel=kernel)
    assert check.looks_like_noise
    assert check.noise_lag_correlation[0] == pytest.approx(check.lag_correlation[0], abs=0.06)
    white = check_residual(clean + noise, clean, noise_model="gaussian")
    assert not white.looks_like_noise  # measured against white noise, this noise is structure


def test_text_has_the_numbers_and_generator_decides_the_reference():
    clean, noisy = synthetic_scene(64)
    first = check_residual(noisy, clean, rng=torch.Generator().manual_seed(1))
    again = check_residual(noisy, clean, rng=torch.Generator().manual_seed(1))
    assert first == again
    assert first.verdict in first.text() and "lag 2" in first.text()


@pytest.mark.parametrize(
    ("noisy", "denoised", "kwargs", "match"),
    [
        (np.zeros((64, 64)), np.zeros((64, 65)), {}, "same shape|one shape"),
        (np.zeros((2, 64, 64)), np.zeros((2, 64, 64)), {}, "2D"),
        (np.zeros((8, 8)), np.zeros((8, 8)), {}, "32x32"),
        (np.full((64, 64), np.nan), np.zeros((64, 64)), {}, "finite"),
        (np.ones((64, 64)), np.zeros((64, 64)), {"noise_model": "correlated"}, "kernel"),
        (np.ones((64, 64)), np.zeros((64, 64)), {"noise_model": "poisson"}, "Unknown"),
    ],
)
def test_bad_input_raises_input_error(noisy, denoised, kwargs, match):
    with pytest.raises(InputError, match=match):
        check_residual(noisy, denoised, **kwargs)


def test_lines_lost_to_a_light_filter_are_caught_by_the_edge_correlation():
    """A narrow filter leaves no smooth patches (lag excess ~0) but the filaments' lines."""
    _, clean = noisy_fluorescence((128, 128), seed=0, return_clean=True)
    clean = 10.0 * (clean - 100.0)
    noisy = clean + np.random.default_rng(0).normal(0, 10, clean.shape)
    check = check_residual(noisy, gaussian_filter(noisy, 0.7), noise_model="gaussian")
    assert check.excess <= MAX_EXCESS_CORRELATION
    assert check.edge_correlation > MAX_EDGE_CORRELATION
    assert not check.looks_like_noise

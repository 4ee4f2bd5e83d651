import numpy as np
import pytest
from conftest import synthetic_scene
from scipy.ndimage import convolve, gaussian_filter

from napari_noise2inpaint import InputError
from napari_noise2inpaint.noise.report import noise_report


def test_white_gaussian_noise_suggests_gaussian():
    _, noisy = synthetic_scene(128, sigma=20)
    report = noise_report(noisy)
    assert report.suggested == "gaussian"
    assert report.sigma == pytest.approx(20, rel=0.15)
    assert max(abs(c) for c in report.correlation) < 0.1
    assert "white Gaussian" in report.text()


def test_shot_noise_suggests_poisson_gaussian_with_the_gain():
    clean = gaussian_filter(synthetic_scene(128)[0], 3.0)  # smooth: edges bias the fit
    rng = np.random.default_rng(0)
    noisy = 3.0 * rng.poisson(clean / 3.0) + rng.normal(0, 3, clean.shape)
    report = noise_report(noisy.astype(np.float32))
    assert report.suggested == "poisson_gaussian"
    assert report.gain == pytest.approx(3.0, rel=0.25)
    assert report.variance_ratio > 1.5
    assert "Poisson-Gaussian" in report.text()


def test_correlated_noise_suggests_correlated():
    clean, _ = synthetic_scene(128)
    line = np.full((1, 5), 1 / np.sqrt(5))
    noisy = clean + 20 * convolve(np.random.default_rng(0).normal(0, 1, clean.shape), line)
    report = noise_report(noisy)
    assert report.suggested == "correlated"
    assert report.correlation[1] == pytest.approx(0.8, abs=0.1)
    assert abs(report.correlation[0]) < 0.15
    assert "correlated noise model" in report.text()


def test_stack_with_channels_reports_the_first_channel():
    _, noisy = synthetic_scene(64, sigma=10)
    stack = np.stack([noisy, noisy * 0 + 7], axis=0)
    assert noise_report(stack, channel_axis=0).sigma == pytest.approx(10, rel=0.2)


def test_small_image_still_reports():
    _, noisy = synthetic_scene(40, sigma=10)
    assert noise_report(noisy).suggested in ("gaussian", "poisson_gaussian", "correlated")


def test_too_small_image_raises_input_error():
    with pytest.raises(InputError, match="too small"):
        noise_report(np.random.default_rng(0).normal(0, 1, (20, 40)))


def test_bad_image_raises_input_error():
    with pytest.raises(InputError):
        noise_report(np.zeros((0, 5)))
    with pytest.raises(InputError):
        noise_report(np.full((32, 32), np.nan))

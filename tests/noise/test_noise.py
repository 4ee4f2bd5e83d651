import dataclasses

import numpy as np
import pytest
import torch
from conftest import synthetic_scene

from napari_noise2inpaint import (
    InputError,
    Noise2InpaintConfig,
    denoise,
    load_model,
    save_model,
    train,
)
from napari_noise2inpaint.noise import CorrelatedNoise, PoissonGaussianNoise, conjugate_gradient
from napari_noise2inpaint.noise.estimation import (
    autocorrelation_of_filter,
    estimate_noise_kernel,
    estimate_poisson_gaussian,
    estimate_sigma,
)

KERNEL = autocorrelation_of_filter(np.array([[0.25, 0.5, 0.25]]) * np.array([[0.5], [1.0], [0.5]]))


def _lstsq(rows: list[torch.Tensor], rhs: list[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.lstsq(torch.cat(rows), torch.cat(rhs)[:, None]).solution[:, 0]


def _dense_covariance(noise: CorrelatedNoise, shape) -> torch.Tensor:
    eye = torch.eye(shape[0] * shape[1]).reshape(-1, *shape)
    return noise.apply(eye).reshape(len(eye), -1).double()


def test_weighted_closed_form_equals_the_least_squares_solution(rng):
    shape = (4, 6)
    y = torch.rand(shape, generator=rng) * 3
    z = torch.rand(shape, generator=rng) * 3
    theta = torch.rand(shape, generator=rng) > 0.3
    noise = PoissonGaussianNoise(gain=0.8, offset=0.3)
    mu = torch.tensor(0.6)
    w = noise.weights(z).flatten().double()
    sampling = torch.eye(y.numel(), dtype=torch.float64)[theta.flatten()]
    sqrt_w = w[theta.flatten()].sqrt()[:, None]
    identity = torch.eye(y.numel(), dtype=torch.float64)
    expected = _lstsq(
        [sqrt_w * sampling, mu.sqrt() * identity],
        [sqrt_w[:, 0] * y.flatten()[theta.flatten()].double(), mu.sqrt() * z.flatten().double()],
    )
    assert torch.allclose(noise.solve(y, z, theta, mu).flatten().double(), expected, atol=1e-5)


def test_correlated_step_equals_the_direct_solution_with_and_without_a_mask(rng):
    shape = (6, 8)
    noise = CorrelatedNoise(KERNEL, iterations=60)
    y = torch.randn(1, 1, *shape, generator=rng)
    z = torch.randn(1, 1, *shape, generator=rng)
    mu = torch.tensor(0.4)
    inverse = torch.linalg.inv(_dense_covariance(noise, shape))
    for theta in (torch.rand(1, 1, *shape, generator=rng) > 0.2, None):
        p = torch.diag(theta.flatten().double()) if theta is not None else torch.eye(48).double()
        system = p @ inverse @ p + mu * torch.eye(48)
        rhs = p @ inverse @ p @ y.flatten().double() + mu * z.flatten().double()
        expected = torch.linalg.solve(system, rhs)
        got = noise.solve(y, z, theta, mu).flatten().double()
        assert torch.allclose(got, expected, atol=1e-3), theta is None


def test_conjugate_gradient_converges_on_the_masked_system(rng):
    noise = CorrelatedNoise(KERNEL)
    theta = torch.rand(1, 1, 16, 16, generator=rng) > 0.05
    y = torch.randn(1, 1, 16, 16, generator=rng)
    z = torch.randn(1, 1, 16, 16, generator=rng)
    mu = torch.tensor(0.5)
    mask = theta.float()

    def operator(v):
        return mask * noise.apply_inverse(mask * v) + mu * v

    rhs = mask * noise.apply_inverse(mask * y) + mu * z
    exact = conjugate_gradient(operator, rhs, z, 500)
    assert (operator(exact) - rhs).norm() < 1e-4 * rhs.norm()

    def error(iterations):  # the A-norm of the error, which CG decreases at every iteration
        e = dataclasses.replace(noise, iterations=iterations).solve(y, z, theta, mu) - exact
        return (e * operator(e)).sum().sqrt().item()

    errors = [error(n) for n in (1, 3, 10, 30)]
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False))
    assert errors[2] < 0.02 * error(0)  # the default 10 iterations: a 50-fold reduction


def test_fft_whitening_inverts_the_given_covariance(rng):
    noise = CorrelatedNoise(KERNEL)
    v = torch.randn(2, 1, 12, 10, generator=rng)
    assert torch.allclose(noise.apply_inverse(noise.apply(v)), v, atol=1e-4)
    covariance = _dense_covariance(noise, (12, 10))
    # a pixel's covariance with its right neighbour is the kernel entry next to the centre
    # (up to the floor at 1e-3 of the peak that keeps the power spectrum invertible)
    assert covariance[0, 1].item() == pytest.approx(KERNEL[2, 3], rel=1e-2)
    assert covariance[0, 0].item() == pytest.approx(KERNEL[2, 2], rel=1e-2)
    assert covariance[0, 5].item() == pytest.approx(0, abs=1e-2)


def _fluorescence_blobs(size=256, seed=0, background=2.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.full((size, size), background)
    for _ in range(12):
        cy, cx = rng.uniform(0, size, 2)
        radius, height = rng.uniform(10, 40), rng.uniform(50, 200)
        image += height * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    return image


@pytest.mark.parametrize(("gain", "offset"), [(2.0, 25.0), (5.0, 100.0)])
def test_poisson_gaussian_estimate_lands_within_10_percent(gain, offset):
    clean = _fluorescence_blobs()
    rng = np.random.default_rng(3)
    noisy = gain * rng.poisson(clean / gain) + rng.normal(0, np.sqrt(offset), clean.shape)
    est_gain, est_offset = estimate_poisson_gaussian([noisy])
    assert est_gain == pytest.approx(gain, rel=0.1)
    assert est_offset == pytest.approx(offset, rel=0.1)


def test_white_noise_level_estimate_lands_within_10_percent():
    _, noisy = synthetic_scene(256, sigma=20)
    assert estimate_sigma([noisy]) == pytest.approx(20, rel=0.1)


def test_correlated_kernel_estimate_lands_within_10_percent():
    white = np.random.default_rng(4).normal(0, 10, (300, 300))
    blur = np.array([[0.25, 0.5, 0.25]]) * np.array([[0.5], [1.0], [0.5]])
    coloured = sum(
        blur[i, j] * np.roll(white, (i - 1, j - 1), axis=(0, 1)) for i in range(3) for j in range(3)
    )
    truth = autocorrelation_of_filter(blur, 10)
    estimate = estimate_noise_kernel(coloured[:200, :200] + 50)
    centre = truth[1:4, 1:4]
    assert np.allclose(estimate[1:4, 1:4], centre, rtol=0.1, atol=0.02 * truth.max())


@pytest.mark.parametrize("noise_model", ["poisson_gaussian", "correlated"])
def test_models_with_a_noise_model_train_save_and_load(noise_model, tiny_config, tmp_path):
    _, noisy = synthetic_scene(48)
    model = train(noisy + 100, tiny_config.replace(noise_model=noise_model))
    if noise_model == "poisson_gaussian":
        assert model.config.noise_gain is not None
        assert "Estimated Poisson-Gaussian" in model.history["notes"][0]
    else:
        assert np.asarray(model.config.noise_kernel).shape == (5, 5)
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.config == model.config
    assert np.array_equal(denoise(loaded, noisy + 100), denoise(model, noisy + 100))


def test_given_noise_parameters_are_kept(tiny_config):
    _, noisy = synthetic_scene(48)
    config = tiny_config.replace(noise_model="poisson_gaussian", noise_gain=1.5, noise_offset=4.0)
    model = train(noisy + 100, config)
    assert (model.config.noise_gain, model.config.noise_offset) == (1.5, 4.0)


def test_noise_level_aware_inference_rescales_mu(tiny_config):
    _, noisy = synthetic_scene(48)
    model = train(noisy, tiny_config)
    assert model.config.noise_sigma == pytest.approx(25, rel=0.15)
    same = denoise(model, noisy, noise_sigma=model.config.noise_sigma)
    assert np.array_equal(same, denoise(model, noisy))
    assert not np.allclose(denoise(model, noisy, noise_sigma=50.0), same)
    assert np.isfinite(denoise(model, noisy, noise_sigma="estimate")).all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"noise_model": "poisson_gaussian", "noise_gain": -1.0, "noise_offset": 1.0}, "negative"),
        ({"noise_model": "correlated", "noise_kernel": [[0.0, 0, 0]] * 3}, "zero power"),
        ({"noise_model": "correlated", "noise_kernel": [[1.0, 0], [0, 1]]}, "odd sides"),
        ({"noise_model": "poisson_gaussian", "noise_gain": 1.0}, "both"),
        (
            {"noise_model": "correlated", "noise_kernel": [[0, -5, 0], [-5, 4, -5], [0, -5, 0]]},
            "exceeds its centre",
        ),
        ({"noise_model": "correlated", "noise_kernel": [[float("nan")]]}, "NaN"),
    ],
)
def test_bad_noise_settings_get_a_clear_error(changes, message):
    with pytest.raises(InputError, match=message):
        Noise2InpaintConfig(**changes)


def test_a_region_too_small_to_estimate_from_is_refused(tiny_config):
    _, noisy = synthetic_scene(48)
    config = tiny_config.replace(noise_model="correlated", noise_region=[0, 8, 0, 8])
    with pytest.raises(InputError, match="too small"):
        train(noisy, config)


def test_a_region_outside_the_image_is_refused(tiny_config):
    _, noisy = synthetic_scene(48)
    config = tiny_config.replace(noise_model="correlated", noise_region=[0, 100000, 0, 100000])
    with pytest.raises(InputError, match="reaches outside the first plane"):
        train(noisy, config)


def test_poisson_gaussian_weights_stay_bounded_when_the_fitted_offset_is_negative():
    noise = PoissonGaussianNoise(gain=2.0, offset=-0.5)
    weights = noise.weights(torch.linspace(-3, 3, 50))
    assert torch.isfinite(weights).all() and weights.max() <= 1 / 0.1 + 1e-6
    mean_level = PoissonGaussianNoise(gain=2.0, offset=0.4).weights(torch.zeros(1))
    assert mean_level.item() == pytest.approx(1.0)

"""The built-in prior's two networks: the one with the lower estimated risk denoises."""

import numpy as np
import pytest
from scipy.ndimage import convolve

from napari_noise2inpaint import (
    Noise2InpaintConfig,
    denoise,
    load_model,
    noisy_fluorescence,
    save_model,
)
from napari_noise2inpaint.engine.per_image import settings_noise
from napari_noise2inpaint.engine.training_data import prepare_training_data
from napari_noise2inpaint.noise import GaussianNoise, PoissonGaussianNoise
from napari_noise2inpaint.prior.choice import choose_network, choose_start


def _scene(size=192, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.full((size, size), 40.0)
    for _ in range(25):
        cy, cx, radius = rng.uniform(0, size, 2).tolist() + [rng.uniform(3, 15)]
        image += rng.uniform(40, 120) * (np.hypot(yy - cy, xx - cx) < radius)
    return image


def _psnr(estimate, clean):
    return 10 * np.log10(255.0**2 / np.mean((estimate - clean) ** 2))


@pytest.fixture(scope="module")
def prior():
    return load_model("builtin")


def _alone(prior):
    return {
        m.history["prior_network"]: m for m in (prior.without_alternatives(), *prior.alternatives)
    }


def test_the_builtin_prior_has_a_physics_and_a_white_network(prior):
    assert prior.history["prior_network"] == "physics"
    assert [m.history["prior_network"] for m in prior.alternatives] == ["white"]
    assert prior.config.noise_model == "auto"


def test_on_correlated_noise_the_physics_network_denoises(prior):
    clean = _scene()
    blur = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])
    white_noise = np.random.default_rng(1).normal(0, 1, clean.shape)
    noise = convolve(white_noise, blur / np.sqrt((blur**2).sum()), mode="wrap")
    noisy = (clean + 25 * noise).astype(np.float32)
    assert choose_network(prior, noisy).history["prior_network"] == "physics"
    networks = _alone(prior)
    ours, white = denoise(prior, noisy), denoise(networks["white"], noisy)
    assert _psnr(ours, clean) > _psnr(white, clean) + 2
    np.testing.assert_array_equal(ours, denoise(networks["physics"], noisy))


def test_on_white_noise_the_choice_is_within_a_fraction_of_a_db_of_the_better(prior):
    clean = _scene(seed=2)
    noisy = (clean + np.random.default_rng(3).normal(0, 20, clean.shape)).astype(np.float32)
    scores = {name: _psnr(denoise(m, noisy), clean) for name, m in _alone(prior).items()}
    assert _psnr(denoise(prior, noisy), clean) >= max(scores.values()) - 0.3


def test_given_white_noise_goes_to_the_white_network_and_other_noise_to_the_physics_one(prior):
    noisy = (_scene(96) + np.random.default_rng(4).normal(0, 10, (96, 96))).astype(np.float32)
    networks = _alone(prior)
    camera = PoissonGaussianNoise(2.0, 0.0)
    np.testing.assert_array_equal(
        denoise(prior, noisy, noise=camera), denoise(networks["physics"], noisy, noise=camera)
    )
    # the white network keeps its own data consistency: it judges the noise level itself
    white = denoise(prior, noisy, noise=GaussianNoise(10.0))
    np.testing.assert_array_equal(white, denoise(networks["white"], noisy))
    assert not np.array_equal(white, denoise(networks["physics"], noisy, noise=GaussianNoise(10.0)))


def test_given_white_noise_beats_the_physics_network_given_the_same_noise(prior):
    _, clean = noisy_fluorescence((128, 128), seed=3, return_clean=True)
    sigma = 0.2 * float(np.ptp(clean))
    noisy = (clean + np.random.default_rng(1).normal(0, sigma, clean.shape)).astype(np.float32)
    given = GaussianNoise(sigma)
    physics = denoise(_alone(prior)["physics"], noisy, noise=given)
    assert _psnr(denoise(prior, noisy, noise=given), clean) > _psnr(physics, clean) + 0.5


def test_a_saved_prior_is_the_physics_network_alone(prior, tmp_path):
    save_model(prior, tmp_path / "prior.safetensors")
    loaded = load_model(tmp_path / "prior.safetensors")
    assert loaded.alternatives == ()
    assert loaded.config.noise_model == "auto"


def test_adapting_the_white_network_keeps_its_unit_weight_data_consistency(prior):
    """Its adaptation sees the data term it was trained with, not an estimated sigma."""
    white = next(m for m in prior.alternatives if m.history["prior_network"] == "white")
    image = np.random.default_rng(3).normal(100, 20, (96, 96)).astype(np.float32)
    data = prepare_training_data(image, white.config.replace(patch_size=32))
    assert data.config.noise_sigma is None
    assert data.train_noises and all(n == GaussianNoise() for n in data.train_noises)
    given = prepare_training_data(image, white.config.replace(patch_size=32, noise_sigma=20.0))
    assert given.train_noises[0].sigma == pytest.approx(20.0 / image.std(), rel=1e-3)


@pytest.mark.parametrize(
    ("settings", "network"),
    [
        ({"noise_model": "gaussian", "noise_sigma": 10.0}, "white"),
        ({"noise_model": "poisson_gaussian", "noise_gain": 2.0, "noise_offset": 0.0}, "physics"),
    ],
)
def test_adapting_with_a_named_noise_model_starts_from_what_denoise_now_gives(
    prior, settings, network
):
    noisy = (_scene(96) + np.random.default_rng(4).normal(0, 10, (96, 96))).astype(np.float32)
    config = Noise2InpaintConfig(**settings)
    chosen, adapted = choose_start(prior, noisy, config)
    assert chosen.history["prior_network"] == network and chosen.alternatives == ()
    given = settings_noise(noisy, prior.config.replace(**settings))
    np.testing.assert_array_equal(
        denoise(chosen, noisy, noise=None if network == "white" else given),
        denoise(prior, noisy, noise=given),
    )
    if network == "white":  # its own unit-weight data consistency, as Denoise now used
        assert adapted.noise_model == chosen.config.noise_model and adapted.noise_sigma is None
    else:
        assert adapted == config

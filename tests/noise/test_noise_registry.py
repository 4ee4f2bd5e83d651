"""The noise registry: each model samples its own statistics, round-trips, solves its step."""

import numpy as np
import pytest
import torch

from napari_noise2inpaint import Noise2InpaintConfig
from napari_noise2inpaint.noise import (
    REGISTRY,
    BatchNoise,
    CorrelatedNoise,
    GaussianNoise,
    PoissonGaussianNoise,
    from_config,
)
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter
from napari_noise2inpaint.prior.physics import random_noise

LINE = autocorrelation_of_filter(np.ones((1, 5)) / np.sqrt(5), 0.1)
MODELS = [
    GaussianNoise(0.1),
    PoissonGaussianNoise(0.02, 0.001, relative=False),
    CorrelatedNoise(LINE),
]


def test_every_registered_model_has_words_for_the_user():
    assert set(REGISTRY) == {"gaussian", "poisson_gaussian", "correlated"}
    for cls in REGISTRY.values():
        assert cls.label and len(cls.tooltip) > 40


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_sampled_noise_has_the_model_s_variance(model):
    clean = torch.full((256, 256), 0.5)
    noise = model.sample(clean, torch.Generator().manual_seed(0)) - clean
    expected = {
        "gaussian": 0.01,
        "poisson_gaussian": 0.02 * 0.5 + 0.001,
        "correlated": 0.1**2,
    }[model.name]
    assert float(noise.var()) == pytest.approx(expected, rel=0.05)


def test_correlated_samples_follow_the_kernel():
    clean = torch.zeros((256, 256))
    noise = CorrelatedNoise(LINE).sample(clean, torch.Generator().manual_seed(1)).numpy()
    along_x = (noise[:, 1:] * noise[:, :-1]).mean() / noise.var()
    along_y = (noise[1:] * noise[:-1]).mean() / noise.var()
    assert along_x == pytest.approx(0.8, abs=0.05) and abs(along_y) < 0.05


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_models_round_trip_through_the_config(model):
    config = Noise2InpaintConfig(**model.config_fields())
    back = from_config(config)
    assert type(back) is type(model)
    assert back.describe() == model.describe()


def test_absolute_gaussian_step_solves_its_least_squares_problem():
    y, z = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 8, 8)
    mu, sigma = torch.tensor(0.7), 0.3
    x = GaussianNoise(sigma).solve(y, z, None, mu)
    gradient = (x - y) / sigma**2 + mu * (x - z)  # of ||y - x||^2 / sigma^2 + mu ||x - z||^2
    assert float(gradient.abs().max()) < 1e-5


def test_unknown_sigma_keeps_the_unit_weight_and_noisier_data_leans_on_the_regulariser():
    y, z = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    mu = torch.tensor(1.0)
    assert float(GaussianNoise().solve(y, z, None, mu).mean()) == pytest.approx(0.5)
    quiet = GaussianNoise(0.5).normalised(0.0, 1.0, absolute=True).solve(y, z, None, mu)
    loud = GaussianNoise(2.0).normalised(0.0, 1.0, absolute=True).solve(y, z, None, mu)
    assert float(quiet.mean()) > 0.5 > float(loud.mean())


def test_a_batch_solves_each_sample_with_its_own_model():
    y, z = torch.randn(3, 1, 16, 16), torch.randn(3, 1, 16, 16)
    theta = torch.rand(3, 1, 16, 16) > 0.05
    mu = torch.tensor(0.5)
    models = [m.normalised(0.2, 1.5, absolute=True) for m in MODELS]
    together = BatchNoise(models).solve(y, z, theta, mu)
    for i, model in enumerate(models):
        alone = model.solve(y[i : i + 1], z[i : i + 1], theta[i : i + 1], mu)
        torch.testing.assert_close(together[i : i + 1], alone)


def test_the_prior_draws_every_kind_of_physics():
    rng = torch.Generator().manual_seed(0)
    names = {random_noise(rng).name for _ in range(60)}
    assert names == set(REGISTRY)

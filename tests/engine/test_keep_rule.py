"""The keep rule of adaptation and the risk estimate (SURE) it rests on."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from napari_noise2inpaint import Noise2InpaintConfig, denoise, load_model, save_model, train
from napari_noise2inpaint.engine.keep_rule import UNFIT, decide
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.engine.risk import compare_risks
from napari_noise2inpaint.noise import CorrelatedNoise, GaussianNoise, PoissonGaussianNoise
from napari_noise2inpaint.prior import config_for_init
from napari_noise2inpaint.prior.choice import choose_network


def _scene(size=256, seed=0) -> torch.Tensor:
    """Smooth blobs in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size))
    for _ in range(12):
        cy, cx, radius = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(5, 30)
        image += rng.uniform(0.2, 0.8) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / radius**2)
    return torch.from_numpy(np.clip(image, 0, 1)).float()


def _blur(width: float):
    """A linear denoiser: a Gaussian blur of ``width`` pixels (reflecting borders)."""
    radius = int(3 * width) + 1
    taps = torch.exp(-(torch.arange(-radius, radius + 1.0) ** 2) / (2 * width**2))
    taps /= taps.sum()

    def run(plane: torch.Tensor, index: int) -> torch.Tensor:
        image = F.pad(plane[None, None], [radius] * 4, mode="reflect")
        image = F.conv2d(image, taps.view(1, 1, 1, -1))
        return F.conv2d(image, taps.view(1, 1, -1, 1))[0, 0]

    return run


NOISES = {
    "white": GaussianNoise(0.2),
    "poisson_gaussian": PoissonGaussianNoise(0.05, 0.004, relative=False),
    "correlated": CorrelatedNoise(0.04 * np.outer([0.5, 1, 0.5], [0.5, 1, 0.5])),
}


@pytest.mark.parametrize("name", NOISES)
def test_the_risk_estimate_matches_the_true_error_of_each_noise(name):
    noise = NOISES[name]
    rng = torch.Generator().manual_seed(1)
    clean = _scene()
    noisy = noise.sample(clean, rng)
    light, strong = _blur(0.7), _blur(2.0)
    estimate = compare_risks(light, strong, [noisy], [noise], rng)
    truth = [float((f(noisy, 0) - clean).square().mean()) for f in (light, strong)]
    # the error of each risk scales with the noise variance (its trace comes from two probes,
    # 0.4 % relative error); their difference, which the keep rule uses, is tighter
    tolerance = 0.015 * estimate.noise_variance
    assert estimate.first == pytest.approx(truth[0], abs=tolerance)
    assert estimate.second == pytest.approx(truth[1], abs=tolerance)
    difference = estimate.first - estimate.second
    assert difference == pytest.approx(truth[0] - truth[1], abs=3 * estimate.standard_error)


def _normalised_noisy(sigma=0.2, seed=2):
    clean = _scene(128, seed)
    noisy = clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    mean, std = float(noisy.mean()), float(noisy.std())
    return ((noisy - mean) / std).numpy(), GaussianNoise(sigma / std)


def test_the_rule_keeps_whichever_network_denoises_better():
    model = load_model("builtin")
    prior = model.network
    untrained = Denoiser(model.config, torch.Generator().manual_seed(0)).eval()
    plane, noise = _normalised_noisy()
    better = decide((untrained, [noise]), (prior, [noise]), [plane], "z", seed=0)
    worse = decide((prior, [noise]), (untrained, [noise]), [plane], "z", seed=0)
    assert better.adapted and better.gain_db > 1
    assert not worse.adapted and worse.gain_db < -1
    assert worse.record()["kept"] == "start"


def test_an_estimated_noise_that_does_not_fit_keeps_the_start():
    model = load_model("builtin")
    untrained = Denoiser(model.config, torch.Generator().manual_seed(0)).eval()
    plane, noise = _normalised_noisy()
    overstated = GaussianNoise(5 * noise.sigma)  # estimated errors come out below zero
    decision = decide((untrained, [overstated]), (model.network, [overstated]), [plane], "z", 0)
    assert not decision.adapted
    assert decision.reason == UNFIT


def _adapt(image, steps=6):
    prior = load_model("builtin")
    config = config_for_init(Noise2InpaintConfig(), prior).replace(
        steps=steps,
        batch_size=4,
        patch_size=32,
        val_interval=2,
        keep_weights="last",
        precision="float32",
        seed=3,
    )
    return train(image, config, init=prior)


def test_adapting_on_pure_noise_keeps_the_prior_and_says_why(tmp_path):
    noise = np.random.default_rng(4).normal(100, 10, (128, 128)).astype(np.float32)
    model = _adapt(noise)
    assert model.history["kept_weights"] == "start"
    assert model.history["adaptation"]["kept"] == "start"
    chosen = choose_network(load_model("builtin"), noise)  # what Denoise now uses
    prior = chosen.network.state_dict()
    for key, value in model.network.state_dict().items():
        assert torch.equal(value, prior[key]), key
    np.testing.assert_array_equal(denoise(model, noise), denoise(chosen, noise))
    save_model(model, tmp_path / "adapted.safetensors")
    reloaded = load_model(tmp_path / "adapted.safetensors")
    assert reloaded.history["adaptation"] == model.history["adaptation"]


def test_a_tiny_image_keeps_the_prior():
    tiny = np.random.default_rng(5).normal(100, 10, (40, 40)).astype(np.float32)
    model = _adapt(tiny, steps=2)
    assert model.history["kept_weights"] == "start"
    assert model.history["adaptation"]["reason"] == "the image is too small to judge adapting"

"""The keep rule of adaptation and the risk estimate (SURE) it rests on."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from napari_noise2inpaint import Noise2InpaintConfig, denoise, load_model, save_model, train
from napari_noise2inpaint.engine.keep_rule import UNFIT, decide, verdict
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
    plane, noise = _normalised_noisy(sigma=0.5)  # the gain must hold at half the variance too
    better = decide((untrained, [noise]), (prior, [noise]), [plane], "z", seed=0)
    worse = decide((prior, [noise]), (untrained, [noise]), [plane], "z", seed=0)
    assert better.adapted and better.gain_db > 0.3
    assert not worse.adapted and worse.gain_db < 0
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


def _textured(amplitude=0.1):
    """The smooth scene with a fine stripe pattern (period 6 px) that blurs erase."""
    stripes = torch.sin(2 * np.pi * torch.arange(256.0) / 6)[None, :].expand(256, 256)
    return _scene() + amplitude * stripes


def test_risks_at_a_scaled_variance_equal_the_estimate_made_with_that_variance():
    clean, sigma = _textured(), 0.05
    noisy = GaussianNoise(sigma).sample(clean, torch.Generator().manual_seed(1))
    pair = (_blur(0.6), _blur(1.0))
    overstated = compare_risks(*pair, [noisy], [GaussianNoise(1.3 * sigma)], _seeded(2))
    exact = compare_risks(*pair, [noisy], [GaussianNoise(sigma)], _seeded(2))
    scaled = overstated.at(1 / 1.3**2)
    assert scaled.first == pytest.approx(exact.first, rel=1e-4, abs=1e-7)
    assert scaled.second == pytest.approx(exact.second, rel=1e-4, abs=1e-7)
    assert scaled.standard_error == pytest.approx(exact.standard_error, rel=1e-3)


def test_an_overstated_noise_does_not_make_the_rule_keep_the_smoother_output():
    """With the variance estimated 1.44x too high, the heavier blur looks better; it is not."""
    clean, sigma = _textured(), 0.05
    noisy = GaussianNoise(sigma).sample(clean, torch.Generator().manual_seed(1))
    light, heavy = _blur(0.6), _blur(1.0)
    truth = [float((f(noisy, 0) - clean).square().mean()) for f in (light, heavy)]
    comparison = compare_risks(light, heavy, [noisy], [GaussianNoise(1.2 * sigma)], _seeded(2))
    assert truth[0] < truth[1] and comparison.at(1.0).second_is_better()
    assert min(comparison.first, comparison.second) > 0  # not the "does not fit" case
    decision = verdict(comparison)
    assert not decision.adapted and decision.gain_db < 0


def _seeded(seed):
    return torch.Generator().manual_seed(seed)

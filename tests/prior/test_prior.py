"""Starting training from a model (prior adaptation, resume) and the prior's training recipe."""

import threading

import numpy as np
import pytest
import torch

from napari_noise2inpaint import Noise2InpaintConfig, denoise, train
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.engine.training import iter_train
from napari_noise2inpaint.engine.training_state import TrainingState
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.prior import ADAPT_LEARNING_RATE, config_for_init
from napari_noise2inpaint.prior.recipe import prior_model
from napari_noise2inpaint.prior.source import SyntheticNoiseSource

TINY = Noise2InpaintConfig(
    unrolls=2,
    features=8,
    batch_size=4,
    patch_size=32,
    steps=3,
    val_interval=1,
    seed=1,
    precision="float32",
)


def _image(seed=0, size=64):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    clean = 100 + 80 * (np.hypot(yy - size / 2, xx - size / 2) < size / 4)
    return (clean + rng.normal(0, 20, clean.shape)).astype(np.float32)


def _weights(model):
    return {k: v.clone() for k, v in model.network.state_dict().items()}


@pytest.fixture(scope="module")
def start_model():
    return train(_image(), TINY)


def test_stopping_before_the_first_step_returns_the_starting_weights(start_model):
    stop = threading.Event()
    stop.set()
    model = train(_image(1), TINY.replace(seed=5), init=start_model, stop_event=stop)
    assert model.history["steps"] == 0
    assert model.history["start"] == "model"
    for key, value in _weights(start_model).items():
        assert torch.equal(model.network.state_dict()[key], value), key


def test_training_from_a_model_continues_it(start_model):
    model = train(_image(1), TINY.replace(keep_weights="last", seed=5), init=start_model)
    assert model.history["start_steps"] == start_model.history["steps"]
    changed = [
        not torch.equal(model.network.state_dict()[k], v) for k, v in _weights(start_model).items()
    ]
    assert any(changed)


def test_a_mismatched_architecture_is_refused_in_one_sentence(start_model):
    with pytest.raises(InputError, match="does not match.*features 8 \\(settings: 16\\)"):
        train(_image(1), TINY.replace(features=16), init=start_model)


def test_without_a_config_the_architecture_comes_from_the_starting_model(start_model):
    config = config_for_init(Noise2InpaintConfig(), start_model)
    assert (config.unrolls, config.features) == (2, 8)
    assert config.rho == Noise2InpaintConfig().rho
    assert config.learning_rate == ADAPT_LEARNING_RATE
    assert config_for_init(Noise2InpaintConfig(), start_model, None).learning_rate == 1e-3


def test_settings_given_explicitly_replace_the_starting_models(start_model):
    given = {"learning_rate": 5e-4, "rho": 0.1, "unrolls": 3}
    config = config_for_init(Noise2InpaintConfig(), start_model, given=given)
    assert (config.learning_rate, config.rho, config.unrolls) == (5e-4, 0.1, 3)
    assert config.features == 8  # from the model: not given
    with pytest.raises(InputError, match="does not match.*unrolls 2 \\(settings: 3\\)"):
        train(_image(1), config, init=start_model)  # refused when the run starts


def test_per_image_normalisation_follows_intensity_changes(start_model):
    per_image = type(start_model)(
        start_model.network, start_model.config, [0.0], [1.0], {"normalisation": "per_image"}
    )
    assert per_image.normalises_each_image
    image = _image(2)
    base = denoise(per_image, image)
    shifted = denoise(per_image, 3 * image + 1000)
    np.testing.assert_allclose(shifted, 3 * base + 1000, rtol=1e-4, atol=1e-2)


def _clean_images():
    rng = np.random.default_rng(0)
    return [rng.random((96, 96)).astype(np.float32) for _ in range(3)]


def test_prior_batches_depend_only_on_the_seed_and_the_index():
    source = SyntheticNoiseSource(_clean_images(), 32, seed=3)
    a, b = source.batch_at(5, 4), source.batch_at(5, 4)
    assert torch.equal(a.noisy, b.noisy) and torch.equal(a.target, b.target)
    assert a.noisy.shape == (4, 1, 32, 32)
    assert len(a.noise.models) == 4  # every sample carries its own noise model
    assert source.batch_at(4, 4).loss_set is None  # holes every other batch
    assert a.loss_set.float().mean() < 0.2


def _stage(images, config, state, stop_after=None):
    stop = threading.Event()
    generator = iter_train(
        None,
        config,
        source=SyntheticNoiseSource(images, 32, seed=2),
        resume=state,
        stop_event=stop,
    )

    def on_event(event):
        if stop_after is not None and getattr(event, "step", 0) >= stop_after:
            stop.set()

    return run_to_end(generator, on_event)


def test_prior_training_in_stages_equals_one_run(tmp_path):
    images = _clean_images()
    config = TINY.replace(seed=0, steps=4, keep_weights="last")
    whole_state = TrainingState()
    _stage(images, config, whole_state)
    half = TrainingState()
    _stage(images, config, half, stop_after=2)
    assert half.step == 2
    half.save(tmp_path / "state.safetensors")
    staged = TrainingState.load(tmp_path / "state.safetensors")
    model = _stage(images, config, staged)
    assert staged.step == whole_state.step == 4
    for key, value in whole_state.network.items():
        torch.testing.assert_close(staged.network[key], value)
    shipped = prior_model(model, {"steps": staged.step, "seconds": staged.seconds})
    assert shipped.normalises_each_image and shipped.history["steps"] == 4

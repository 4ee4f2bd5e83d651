"""The one task that denoises an image, for the command line and the widgets alike."""

import dataclasses

import dask.array as da
import numpy as np
import pytest
from conftest import synthetic_scene

from napari_noise2inpaint import InputError, Noise2InpaintConfig, denoise, load_model, train
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.engine.per_image import settings_noise
from napari_noise2inpaint.images.chunked import plan_chunks
from napari_noise2inpaint.tasks.denoise import (
    DenoiseOptions,
    iter_denoise_task,
    model_channel_axis,
    prepare_denoise,
)


@pytest.fixture(scope="module")
def model():
    config = Noise2InpaintConfig(features=4, unrolls=2, steps=2, batch_size=2, patch_size=16)
    return train(synthetic_scene(48)[1], config)


@pytest.fixture(scope="module")
def builtin():
    return load_model("builtin")


def _run(model, image, options=None, target=None):
    return run_to_end(iter_denoise_task(prepare_denoise(model, image, options), target))


def test_an_image_in_memory_gives_the_pixels_of_denoise(model):
    image = synthetic_scene(40)[1]
    result = _run(model, image)
    np.testing.assert_array_equal(result.image, denoise(model, image))
    assert result.note is None


def test_a_dask_array_is_denoised_chunk_by_chunk_into_the_target(model):
    stack = np.stack([synthetic_scene(64, seed=seed)[1] for seed in range(2)])
    lazy = da.from_array(stack, chunks=(1, 32, 32))
    task = prepare_denoise(model, lazy, DenoiseOptions(chunks=(1, 32, 32)))
    assert task.plan.chunk_shape == plan_chunks(model, stack.shape, chunks=(1, 32, 32)).chunk_shape
    target = np.zeros(stack.shape, dtype=np.float32)
    events = []
    result = run_to_end(iter_denoise_task(task, target), events.append)
    assert result.image is target
    assert events[-1].done == events[-1].total > 1  # one event per chunk
    np.testing.assert_allclose(target, denoise(model, stack), rtol=0, atol=1e-3)


def test_a_dask_array_needs_a_target(model):
    task = prepare_denoise(model, da.zeros((64, 64), chunks=32))
    with pytest.raises(InputError, match="target"):
        run_to_end(iter_denoise_task(task))


def test_the_model_channel_axis_applies_when_none_is_given(model):
    with_axis = dataclasses.replace(model, config=model.config.replace(channel_axis=0))
    image = np.stack([synthetic_scene(32, seed=seed)[1] for seed in range(2)])
    task = prepare_denoise(with_axis, image)
    assert task.channel_axis == model_channel_axis(with_axis, None) == 0
    np.testing.assert_array_equal(
        run_to_end(iter_denoise_task(task)).image, denoise(with_axis, image, channel_axis=0)
    )


def test_the_user_channel_axis_replaces_the_model_one(model):
    with_axis = dataclasses.replace(model, config=model.config.replace(channel_axis=0))
    image = np.moveaxis(np.stack([synthetic_scene(32, seed=seed)[1] for seed in range(2)]), 0, 2)
    task = prepare_denoise(with_axis, image, DenoiseOptions(channel_axis=2))
    assert task.channel_axis == model_channel_axis(with_axis, 2) == 2
    assert task.notes == ()  # given, so no note on reading the last axis as channels
    np.testing.assert_array_equal(
        run_to_end(iter_denoise_task(task)).image, denoise(with_axis, image, channel_axis=2)
    )


def test_an_rgb_looking_axis_is_a_note_before_the_work(model):
    image = np.moveaxis(np.stack([synthetic_scene(32, seed=seed)[1] for seed in range(3)]), 0, 2)
    assert prepare_denoise(model, image).notes == (
        "Treating the last axis (size 3) as RGB channels.",
    )


def test_the_builtin_prior_says_which_noise_and_network_and_gives_the_pixels_of_denoise(
    builtin,
):
    image = synthetic_scene(64)[1]
    result = _run(builtin, image)
    assert result.note.startswith("Noise: ")
    assert result.note.endswith(("physics-aware network.", "white-noise network."))
    np.testing.assert_array_equal(result.image, denoise(builtin, image))


@pytest.mark.parametrize(
    ("settings", "network"),
    [
        ({"noise_model": "gaussian", "noise_sigma": 25.0}, "white-noise network."),
        ({"noise_model": "poisson_gaussian", "noise_gain": 2.0, "noise_offset": 0.0},
         "physics-aware network."),
    ],
)
def test_noise_settings_replace_the_prior_estimate(builtin, settings, network):
    image = synthetic_scene(64)[1]
    result = _run(builtin, image, DenoiseOptions(noise_settings=settings))
    assert result.note.startswith("Noise: ") and "(your settings)" in result.note
    assert result.note.endswith(network)
    given = settings_noise(image, builtin.config.replace(**settings))
    np.testing.assert_array_equal(result.image, denoise(builtin, image, noise=given))


def test_the_same_seed_gives_the_same_output(model, builtin):
    image = synthetic_scene(40, seed=3)[1]
    for chosen in (model, builtin):
        np.testing.assert_array_equal(_run(chosen, image).image, _run(chosen, image).image)


def test_options_of_the_wrong_kind_are_refused_before_any_work(model):
    with pytest.raises(InputError, match="output must be one of"):
        prepare_denoise(model, np.zeros((32, 32)), DenoiseOptions(output="nope"))
    with pytest.raises(InputError, match="scheduler"):
        prepare_denoise(
            model,
            da.zeros((64, 64), chunks=32),
            DenoiseOptions(scheduler="tcp://x:1", noise_settings={"noise_sigma": 1.0}),
        )

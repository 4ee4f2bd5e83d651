"""Validation on pixels training never sees: a held-out band, per-plane data for the prior."""

import numpy as np
import pytest

from napari_noise2inpaint import Noise2InpaintConfig
from napari_noise2inpaint.engine.training_data import prepare_training_data
from napari_noise2inpaint.noise import GaussianNoise

CONFIG = Noise2InpaintConfig(patch_size=32, features=8, unrolls=2, steps=2, seed=0)


def test_a_single_image_holds_out_a_band_that_training_never_sees():
    image = np.arange(200 * 96, dtype=np.float32).reshape(200, 96)
    data = prepare_training_data(image, CONFIG)
    (train,), (val,) = data.train, data.validation
    assert train.shape == (168, 96) and val.shape == (32, 96)  # 10 % of the rows, >= a patch
    assert train.max() < val.min()  # rows above the band vs the band itself: disjoint


def test_images_too_small_for_a_band_validate_on_themselves_with_a_note():
    data = prepare_training_data(np.random.default_rng(0).random((48, 48)), CONFIG)
    assert data.validation[0].shape == data.train[0].shape == (48, 48)
    assert any("too small to hold out" in note for note in data.notes)


def test_per_image_models_normalise_each_plane_and_carry_its_noise():
    rng = np.random.default_rng(1)
    bright = 1000 + rng.normal(0, 20, (96, 96))
    bleached = 50 + rng.normal(0, 20, (96, 96))
    config = CONFIG.replace(normalisation="per_image", noise_model="gaussian", noise_sigma=20.0)
    data = prepare_training_data(np.stack([bright, bleached]), config)
    for plane in data.train:
        assert abs(float(plane.mean())) < 0.2
    sigmas = [noise.sigma for noise in data.train_noises]
    assert all(isinstance(noise, GaussianNoise) for noise in data.train_noises)
    assert sigmas == pytest.approx([20 / bright.std(), 20 / bleached.std()], rel=0.05)

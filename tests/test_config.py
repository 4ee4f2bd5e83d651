import dataclasses

import numpy as np
import pytest

from napari_noise2inpaint import config_rules, denoise, train
from napari_noise2inpaint.config import Noise2InpaintConfig, start_config
from napari_noise2inpaint.config_rules import bounds
from napari_noise2inpaint.engine import devices, inference
from napari_noise2inpaint.engine.masks import random_lambda
from napari_noise2inpaint.errors import InputError


def test_start_config_is_lighter_on_a_cpu():
    config = start_config("cpu")
    assert (config.unrolls, config.features, config.batch_size) == (2, 16, 8)
    assert (config.steps, config.time_limit, config.device) == (1000, 120, "cpu")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_start_config_keeps_the_defaults_on_an_accelerator(device):
    assert start_config(device) == Noise2InpaintConfig(device=device)


@pytest.mark.parametrize(
    ("available", "unrolls"), [(["cpu"], 2), (["cuda", "cpu"], 5), (["mps", "cpu"], 5)]
)
def test_start_config_auto_looks_at_the_machine(monkeypatch, available, unrolls):
    monkeypatch.setattr(devices, "available_devices", lambda: available)
    config = start_config()
    assert config.unrolls == unrolls and config.device == "auto"


def test_start_config_refuses_an_unknown_device():
    with pytest.raises(InputError, match="device must be one of"):
        start_config("tpu")


@pytest.mark.parametrize("rho", [0.004, 0.05, 0.5])
def test_rho_range_is_the_documented_range(rho):
    assert Noise2InpaintConfig(rho=rho).n_sets == round(1 / rho)


@pytest.mark.parametrize("rho", [0.0039, 0.003, 0.51, 0.0, -0.1])
def test_rho_outside_the_documented_range_is_refused(rho):
    with pytest.raises(InputError, match=r"rho must be between 0.004 and 0.5"):
        Noise2InpaintConfig(rho=rho)


@pytest.mark.parametrize(
    ("changes", "contains"),
    [
        ({"unrolls": "5"}, "unrolls must be a whole number, got '5'"),
        ({"unrolls": 5.0}, "unrolls must be a whole number"),
        ({"unrolls": True}, "unrolls must be a whole number"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number, got nan"),
        ({"epochs": float("nan"), "steps": None}, "epochs must be a finite number"),
        ({"time_limit": float("nan")}, "time_limit must be a finite number"),
        ({"time_limit": float("inf")}, "time_limit must be a finite number"),
        ({"rho": float("nan")}, "rho must be a finite number"),
        ({"noise_sigma": -1.0}, "noise_sigma must be positive"),
        ({"noise_gain": float("nan"), "noise_offset": 1.0}, "noise_gain must be a finite number"),
        ({"shared_regularizer": 1}, "shared_regularizer must be True or False"),
        ({"method": 3}, "method must be text"),
        ({"spatial_dims": 4}, "spatial_dims must be 2 or 3, got 4"),
        ({"noise_region": [-8, 8, 0, 8]}, "noise_region must be 4 whole numbers"),
        ({"noise_region": [0, 8.5, 0, 8]}, "noise_region must be 4 whole numbers"),
        ({"noise_region": [0, 8, 0]}, "noise_region must be 4 whole numbers"),
        ({"features": 257}, "features must be at most 256"),
        ({"unrolls": 10**9}, "unrolls must be at most 64"),
        ({"seed": 2**64}, "seed must be at most 4294967295"),
    ],
)
def test_wrong_types_and_values_are_one_sentence_input_errors(changes, contains):
    with pytest.raises(InputError) as raised:
        Noise2InpaintConfig(**changes)
    message = str(raised.value)
    assert contains in message
    assert message.count(". ") == 0 and "\n" not in message


def test_numpy_numbers_are_accepted():
    config = Noise2InpaintConfig(unrolls=np.int64(3), rho=np.float32(0.25), noise_region=None)
    assert config.n_sets == 4


def test_mask_averaging_hides_the_fraction_training_hides(monkeypatch):
    """rho has one meaning: 1 / round(1 / rho) of the pixels, in training and in inference."""
    config = Noise2InpaintConfig(rho=0.3, unrolls=1, features=4, steps=1, batch_size=2)
    model = train(np.random.default_rng(0).normal(size=(32, 32)).astype(np.float32), config)
    fractions = []

    def spy(shape, fraction, rng):
        fractions.append(fraction)
        return random_lambda(shape, fraction, rng)

    monkeypatch.setattr(inference, "random_lambda", spy)
    denoise(model, np.zeros((32, 32), np.float32), output="masks")
    assert fractions and set(fractions) == {1 / 3}


def test_a_patch_smaller_than_the_number_of_loss_sets_is_refused():
    with pytest.raises(InputError, match="smaller than the 250 loss sets"):
        Noise2InpaintConfig(rho=0.004, patch_size=8)
    assert Noise2InpaintConfig(rho=0.004, patch_size=16, method="n2i").n_sets == 250


def _bounded_fields():
    for field in dataclasses.fields(Noise2InpaintConfig):
        low, high = bounds(field.name)
        if (low, high) != (-np.inf, np.inf):
            yield field.name, str(field.type).startswith("int"), low, high


def _accepts(name, value):
    # n2v has no rule between rho and the patch, and depth 1 to 6 all fit patches of 64
    changes = {"method": "n2v", "depth": 1, "patch_depth": 64, name: value}
    if name == "noise_gain":
        changes["noise_offset"] = 0.0  # a gain comes with an offset
    try:
        Noise2InpaintConfig(**changes)
    except InputError:
        return False
    return True


@pytest.mark.parametrize(("name", "whole", "low", "high"), list(_bounded_fields()))
def test_bounds_are_what_check_config_accepts(name, whole, low, high):
    open_low = name in (*config_rules._POSITIVE, "noise_sigma", "n2v_fraction")
    open_high = name in ("val_fraction", "n2v_fraction")
    inside = 2 if name.startswith("patch") else 1 if whole else 1e-6  # patches: multiples of 2
    assert _accepts(name, low) != open_low
    assert not _accepts(name, low - inside)
    assert _accepts(name, low + inside)
    if high != np.inf:
        assert _accepts(name, high) != open_high
        assert not _accepts(name, high + inside)
        assert _accepts(name, high - inside)


def test_bounds_cover_every_rule_on_a_number():
    assert bounds("rho") == config_rules.RHO_RANGE
    assert all(bounds(name)[1] == limit for name, limit in config_rules.LIMITS.items())
    bounded = [name for name, *_ in _bounded_fields()]
    assert all(name in bounded for name in ("seed", "val_fraction", "steps", "time_limit"))
    assert bounds("method") == (-np.inf, np.inf)

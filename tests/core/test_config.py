import pytest

from napari_noise2inpaint import devices
from napari_noise2inpaint.config import Noise2InpaintConfig, start_config
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

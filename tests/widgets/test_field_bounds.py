"""The training widget's number fields offer what the config accepts, from the config's rules."""

import math

import pytest
from magicgui.widgets import FloatSpinBox, SpinBox

from napari_noise2inpaint.config import start_config
from napari_noise2inpaint.config_rules import bounds
from napari_noise2inpaint.engine import devices

#: The config field of each spin box, where its name differs, and the config units per unit shown.
CONFIG_NAMES = {"length": "epochs"}
SCALES = {"time_limit": 60}


def expected_range(fields_module, attribute, depth):
    name = CONFIG_NAMES.get(attribute, attribute)
    low, high = bounds(name)
    floor, cap = fields_module.UI_BOUNDS.get(name, (None, None))
    low = low if floor is None else max(low, floor)
    high = high if cap is None else min(high, cap)
    if attribute.startswith("patch"):
        low = max(low, 2**depth)  # the sides the default U-Net takes
    scale = SCALES.get(attribute, 1)
    return low / scale, high / scale


def expected_default(defaults, attribute):
    if attribute == "length":
        return defaults.steps
    if attribute == "time_limit":
        return (defaults.time_limit or 0) / 60
    return getattr(defaults, attribute)


@pytest.mark.parametrize("available", [["cuda", "cpu"], ["cpu"]])
def test_every_spin_box_takes_its_range_and_default_from_the_config(monkeypatch, viewer, available):
    from napari_noise2inpaint._widgets import fields as fields_module

    monkeypatch.setattr(devices, "available_devices", lambda: available)
    fields = fields_module.TrainFields(viewer)
    fields.start_from.value = "scratch"
    defaults = start_config("auto")
    boxes = {n: w for n, w in vars(fields).items() if isinstance(w, (SpinBox, FloatSpinBox))}
    assert len(boxes) == 11  # a new spin box is checked here too
    for attribute, box in boxes.items():
        low, high = expected_range(fields_module, attribute, defaults.depth)
        assert (box.min, box.max) == (pytest.approx(low), pytest.approx(high)), attribute
        assert box.value == pytest.approx(expected_default(defaults, attribute)), attribute


def test_the_widgets_own_bounds_only_narrow_the_rules():
    from napari_noise2inpaint._widgets.fields import UI_BOUNDS

    for name, (floor, cap) in UI_BOUNDS.items():
        low, high = bounds(name)
        assert floor is None or floor > low, name
        assert cap is None or cap < high, name
        assert math.isfinite(cap if cap is not None else high), name  # a box needs an end


def test_the_lowest_values_shown_are_accepted(train_widget):
    fields = train_widget.fields
    fields.rho.value = fields.rho.min
    fields.learning_rate.value = fields.learning_rate.min
    config = fields.config()
    assert (config.rho, config.learning_rate) == (bounds("rho")[0], 1e-6)


def test_the_time_limit_is_training_minutes_and_zero_is_none(train_widget):
    fields = train_widget.fields
    fields.time_limit.value = 2.5
    assert fields.config().time_limit == 150  # the engine ends training there
    fields.time_limit.value = 0
    assert fields.config().time_limit is None

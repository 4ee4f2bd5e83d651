"""Words a biologist understands: tooltips, hints, result names, a too-short run."""

import numpy as np
from widget_helpers import noisy

from napari_noise2inpaint._widgets import model_info
from napari_noise2inpaint._widgets.tooltips import NOISE_TOOLTIPS, TOOLTIPS


def test_every_field_has_a_plain_tooltip(train_widget):
    fields = train_widget.fields
    widgets = [*fields.basic, *fields.advanced]
    assert all(w.tooltip for w in widgets if w is not fields.camera_hint)
    assert (
        fields.rho.tooltip
        == TOOLTIPS["rho"]
        == "Fraction of pixels held out for the loss; keep 0.05."
    )
    assert fields.unrolls.tooltip == "Network iterations: more is better and slower."
    assert fields.noise.model.tooltip == NOISE_TOOLTIPS["model"]


def test_integer_camera_data_gets_a_hint_toward_poisson_gaussian(viewer, train_widget):
    fields = train_widget.fields
    viewer.add_image(noisy((32, 32)).astype(np.float32), name="float")
    fields.reset_choices()
    assert fields.camera_hint.native.isHidden()
    fields.image.value = viewer.add_image(noisy((32, 32)), name="counts")  # uint16
    assert not fields.camera_hint.native.isHidden()
    assert "Poisson-Gaussian" in fields.camera_hint.value
    fields.noise.model.value = "poisson_gaussian"
    assert fields.camera_hint.native.isHidden()


def test_a_run_still_improving_fast_is_called_too_short():
    note = model_info.too_short_note([50, 100, 150, 200], [1.0, 0.9, 0.8, 0.7])
    assert note == (
        "Training was still improving when it ended (validation loss fell 13% in the last "
        "quarter): a longer run would denoise better."
    )
    assert model_info.too_short_note([50, 100, 150, 200], [1.0, 0.9, 0.8, 0.799]) is None
    assert model_info.too_short_note([4], [1.0]) is None

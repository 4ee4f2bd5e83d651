"""Denoise now with the built-in prior: one line on the noise found, and the user's override."""

import dask.array as da
import numpy as np
from widget_helpers import noisy, wait_idle

from napari_noise2inpaint import denoise, load_model
from napari_noise2inpaint._widgets import snapshot
from napari_noise2inpaint.noise import PoissonGaussianNoise


def _press_denoise_now(qtbot, viewer, train_widget, data):
    viewer.add_image(data, name="cells")
    train_widget.fields.start_from.value = "builtin"
    train_widget.denoise_button.click()
    wait_idle(qtbot, train_widget)
    return viewer.layers["cells (N2I, prior)"]


def test_denoise_now_says_which_noise_it_found_and_which_network_denoised(
    qtbot, viewer, train_widget, notices
):
    data = noisy((64, 64))
    result = _press_denoise_now(qtbot, viewer, train_widget, data)
    line = notices[-1].message
    assert line.startswith("Noise: ")
    assert line.endswith(("physics-aware network.", "white-noise network."))
    np.testing.assert_array_equal(result.data, denoise(load_model("builtin"), data))


def test_the_noise_model_chosen_in_the_widget_replaces_the_estimate(
    qtbot, viewer, train_widget, notices
):
    fields = train_widget.fields
    fields.start_from.value = "builtin"
    assert fields.noise.model.enabled  # the prior takes any noise model
    fields.noise.model.value = "poisson_gaussian"
    fields.noise.estimate.value = False
    fields.noise.gain.value, fields.noise.offset.value = 2.0, 10.0
    data = noisy((64, 64))
    result = _press_denoise_now(qtbot, viewer, train_widget, data)
    assert notices[-1].message == (
        "Noise: Poisson-Gaussian noise, gain ~2 (your settings); "
        "denoised with the built-in prior's physics-aware network."
    )
    expected = denoise(load_model("builtin"), data, noise=PoissonGaussianNoise(2.0, 10.0))
    np.testing.assert_array_equal(result.data, expected)


def test_a_lazy_layer_takes_the_noise_settings_and_gets_the_line_too(
    qtbot, viewer, train_widget, notices, monkeypatch
):
    monkeypatch.setattr(snapshot, "LAZY_BYTES", 0)  # this small dask layer counts as large
    fields = train_widget.fields
    fields.start_from.value = "builtin"
    fields.noise.model.value = "poisson_gaussian"
    fields.noise.estimate.value = False
    fields.noise.gain.value, fields.noise.offset.value = 2.0, 10.0
    data = noisy((2, 64, 64))
    result = _press_denoise_now(qtbot, viewer, train_widget, da.from_array(data, (1, 64, 64)))
    assert notices[-1].message == (
        "Noise: Poisson-Gaussian noise, gain ~2 (your settings); "
        "denoised with the built-in prior's physics-aware network."
    )
    expected = denoise(load_model("builtin"), data, noise=PoissonGaussianNoise(2.0, 10.0))
    np.testing.assert_allclose(np.asarray(result.data), expected, atol=1e-3 * np.ptp(expected))

"""The "2D planes" / "3D" mode of the train widget."""

import numpy as np
from widget_helpers import noisy, record_previews, result_layer, wait_idle


def test_mode_is_offered_only_for_layers_with_a_z_axis(viewer, train_widget):
    fields = train_widget.fields
    viewer.add_image(noisy((32, 32)), name="plane")
    fields.reset_choices()
    fields.mode.value = 3  # ignored while disabled
    assert not fields.mode.enabled
    assert fields.config().spatial_dims == 2
    rgb = viewer.add_image(noisy((32, 32, 3)).astype(np.uint8), name="rgb", rgb=True)
    fields.image.value = rgb
    assert not fields.mode.enabled
    stack = viewer.add_image(noisy((8, 32, 32)), name="stack")
    fields.image.value = stack
    assert fields.mode.enabled
    assert fields.config().spatial_dims == 3
    fields.mode.value = 2
    assert fields.config().spatial_dims == 2
    assert not fields.patch_depth.enabled


def test_train_3d_previews_the_plane_in_view_and_denoises_the_volume(
    qtbot, viewer, train_widget, notices
):
    data = noisy((12, 32, 32))
    data[10] += 50  # the plane in view is brighter than the others
    viewer.add_image(data, name="stack", scale=(2.0, 0.5, 0.5))
    viewer.dims.set_current_step(0, 10)
    fields = train_widget.fields
    fields.reset_choices()
    fields.mode.value = 3
    fields.patch_depth.value = 4
    fields.length.value = 3
    previews = record_previews(viewer)

    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)

    assert train_widget.model.config.spatial_dims == 3
    slab, centre = train_widget.preview.get_slab()
    assert slab.shape == (8, 32, 32)  # the last 8 planes: as centred as the stack allows
    np.testing.assert_array_equal(slab, data[4:])
    assert centre == 6
    preview = previews["stack (N2I preview)"]
    assert preview.data.shape == (32, 32)
    assert preview.data.mean() > data[:10].mean() + 25  # the bright plane, denoised
    assert "stack (N2I preview)" not in viewer.layers  # gone once the result is there
    assert result_layer(viewer, "stack").data.shape == data.shape
    assert [n.message for n in notices] == []

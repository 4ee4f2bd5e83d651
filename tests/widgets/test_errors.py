import numpy as np
import pytest
from widget_helpers import is_idle, noisy, result_names, wait_idle


def errors(notices):
    return [n.message for n in notices if n.severity == "error"]


def test_no_layer(train_widget, notices):
    train_widget.train_button.click()
    assert is_idle(train_widget)
    assert errors(notices) == ["No image selected: add or open an Image layer first."]


def test_only_a_labels_layer(viewer, train_widget, notices):
    viewer.add_labels(np.zeros((32, 32), dtype=np.uint8))
    train_widget.reset_choices()
    train_widget.train_button.click()
    assert is_idle(train_widget)
    assert len(errors(notices)) == 1


def test_a_labels_layer_passed_directly(viewer, train_widget, notices):
    labels = viewer.add_labels(np.zeros((32, 32), dtype=np.uint8), name="seg")
    from napari_noise2inpaint._widgets.snapshot import LayerSnapshot
    from napari_noise2inpaint.errors import InputError

    with pytest.raises(InputError, match="'seg' is not an Image layer"):
        LayerSnapshot.of(labels)


def test_empty_image_is_refused_before_training(viewer, train_widget, notices, monkeypatch):
    # napari cannot even build an empty Image layer; fake one to check our own guard.
    layer = viewer.add_image(noisy((8, 8)), name="e")
    train_widget.reset_choices()
    monkeypatch.setattr(type(layer), "data", property(lambda self: np.zeros((0, 32), np.float32)))
    train_widget.train_button.click()
    assert is_idle(train_widget)
    assert errors(notices) == ["Layer 'e' is empty (shape (0, 32))."]


def test_input_error_from_the_worker_is_a_notification(qtbot, viewer, train_widget, notices):
    viewer.add_image(noisy((3, 40)), name="thin")
    train_widget.reset_choices()
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)
    assert errors(notices) == [
        "An image is only 3 pixels on one side; training needs at least 8x8 pixels."
    ]
    assert train_widget.train_button.isEnabled()
    assert result_names(viewer, "thin") == []


def test_invalid_setting(viewer, train_widget, notices):
    viewer.add_image(noisy((32, 32)))
    train_widget.fields.patch_size.value = 18  # not a multiple of 2**depth
    train_widget.train_button.click()
    assert is_idle(train_widget)
    assert "patch_size must be a positive multiple of 4" in errors(notices)[0]


def test_error_messages_for_memory_errors():
    from napari_noise2inpaint._widgets.jobs import error_message

    class OutOfMemoryError(RuntimeError):
        pass

    assert "GPU ran out of memory" in error_message(OutOfMemoryError("CUDA"), "training")
    assert error_message(MemoryError(), "denoising").startswith("Not enough memory")
    assert error_message(ValueError("x"), "training") == "Training failed: ValueError: x"

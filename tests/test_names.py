from napari_noise2inpaint import names
from napari_noise2inpaint.config import METHODS, NOISE_MODELS


def test_every_method_and_noise_model_has_its_names():
    assert set(names.METHOD_NAMES) == set(names.METHOD_FULL_NAMES) == set(METHODS)
    assert set(names.NOISE_NAMES) == set(NOISE_MODELS)


def test_picker_labels_start_with_a_capital_and_keep_the_keys():
    choices = names.picker_choices(names.METHOD_NAMES, ("n2i", "supervised"))
    assert choices == [("N2I", "n2i"), ("Supervised", "supervised")]
    assert [key for _, key in names.picker_choices(names.NOISE_NAMES)] == list(NOISE_MODELS)

import numpy as np

from napari_noise2inpaint._sample_data import make_sample_data, noisy_fluorescence


def test_sample_is_deterministic_and_noisy():
    noisy, clean = noisy_fluorescence((2, 64, 64), seed=3, return_clean=True)
    assert noisy.dtype == np.uint16 and noisy.shape == (2, 64, 64)
    np.testing.assert_array_equal(noisy, noisy_fluorescence((2, 64, 64), seed=3))
    assert not np.array_equal(noisy, noisy_fluorescence((2, 64, 64), seed=4))
    residual = noisy - clean
    assert abs(residual.mean()) < 1  # unbiased noise around the offset clean signal
    assert residual.std() > 2  # Poisson-Gaussian noise is clearly visible
    assert clean.max() - clean.min() > 15  # bright structures on a dark background


def test_sample_layer_data():
    [(data, kwargs, kind)] = make_sample_data()
    assert kind == "image"
    assert data.shape == (5, 256, 256)
    assert kwargs["name"] == "Noisy fluorescence"
    assert len(kwargs["scale"]) == data.ndim

"""Issue 20 E: the Python API takes a torch tensor that requires grad (and leaves it alone)."""

import numpy as np
import torch

from napari_noise2inpaint import denoise, load_model


def test_denoise_takes_a_tensor_that_requires_grad():
    model = load_model("builtin")
    image = np.random.default_rng(0).normal(100, 10, (40, 40)).astype(np.float32)
    tensor = torch.from_numpy(image.copy()).requires_grad_()
    result = denoise(model, tensor)
    np.testing.assert_array_equal(result, denoise(model, image))
    assert tensor.requires_grad and tensor.grad is None
    np.testing.assert_array_equal(tensor.detach().numpy(), image)

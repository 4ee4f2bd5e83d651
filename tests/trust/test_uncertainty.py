import dataclasses

import numpy as np
import pytest
import torch
from conftest import synthetic_scene

from napari_noise2inpaint import DenoiseProgress, InputError, Noise2InpaintConfig, denoise, train
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.trust.uncertainty import (
    _RegulariserOutput,
    denoise_with_uncertainty,
    iter_denoise_with_uncertainty,
)


@pytest.fixture(scope="module")
def model():
    config = Noise2InpaintConfig(features=4, unrolls=2, steps=3, batch_size=2, patch_size=16)
    trained = train(synthetic_scene(48)[1], config)
    generator = torch.Generator().manual_seed(5)
    for p in trained.network.parameters():  # non-trivial weights so the masks matter
        p.data.add_(0.05 * torch.randn(p.shape, generator=generator))
    return trained


def test_output_is_the_ordinary_result_and_uncertainty_is_positive(model):
    _, noisy = synthetic_scene(64)
    output, spread = denoise_with_uncertainty(model, noisy, masks=3)
    np.testing.assert_allclose(output, denoise(model, noisy), rtol=1e-5, atol=1e-4)
    assert spread.shape == noisy.shape and spread.dtype == np.float32
    assert np.all(spread >= 0) and spread.mean() > 0


def test_uncertainty_is_the_spread_of_the_mask_predictions(model):
    """Two masks: the std (ddof 1) of two values is |a - b| / sqrt(2), in intensity units."""
    _, noisy = synthetic_scene(40)
    _, spread = denoise_with_uncertainty(
        model, noisy, masks=2, rng=torch.Generator().manual_seed(1)
    )
    seeds = torch.randint(0, 2**31 - 1, (2,), generator=torch.Generator().manual_seed(1)).tolist()

    wrapped = _RegulariserOutput(model.network)
    draws = [
        denoise(
            dataclasses.replace(
                model, network=wrapped, config=model.config.replace(inference_masks=1, seed=s)
            ),
            noisy,
            output="masks",
        )
        for s in seeds
    ]
    np.testing.assert_allclose(spread, np.abs(draws[0] - draws[1]) / np.sqrt(2), atol=1e-4)


def test_same_generator_gives_the_same_uncertainty_and_another_differs(model):
    _, noisy = synthetic_scene(40)
    first = denoise_with_uncertainty(model, noisy, masks=2, rng=torch.Generator().manual_seed(3))[1]
    again = denoise_with_uncertainty(model, noisy, masks=2, rng=torch.Generator().manual_seed(3))[1]
    other = denoise_with_uncertainty(model, noisy, masks=2, rng=torch.Generator().manual_seed(4))[1]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_progress_counts_all_passes(model):
    _, noisy = synthetic_scene(40)
    events = []
    generator = iter_denoise_with_uncertainty(model, noisy, masks=3, tile_size=16)
    while True:
        try:
            events.append(next(generator))
        except StopIteration:
            break
    assert all(isinstance(e, DenoiseProgress) for e in events)
    assert events[-1].done == events[-1].total == 4 * (events[0].total // 4)
    assert [e.done for e in events] == sorted(e.done for e in events)


def test_stack_and_channels_keep_their_shape(model):
    _, noisy = synthetic_scene(32)
    stack = np.stack([noisy, noisy + 5])
    output, spread = run_to_end(iter_denoise_with_uncertainty(model, stack, masks=2))
    assert output.shape == spread.shape == stack.shape


def test_bad_requests_raise_input_error(model):
    _, noisy = synthetic_scene(32)
    with pytest.raises(InputError, match="2 to 256 masks"):
        denoise_with_uncertainty(model, noisy, masks=1)
    with pytest.raises(InputError, match="output"):
        denoise_with_uncertainty(model, noisy, output="x")
    n2v = train(
        noisy, Noise2InpaintConfig(method="n2v", features=4, steps=1, batch_size=2, patch_size=16)
    )
    with pytest.raises(InputError, match="N2I"):
        denoise_with_uncertainty(n2v, noisy)

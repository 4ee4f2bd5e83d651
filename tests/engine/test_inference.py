import numpy as np
import pytest
import torch
from conftest import synthetic_scene

from napari_noise2inpaint import DenoiseProgress, InputError, denoise, iter_denoise, train
from napari_noise2inpaint.engine.inference import _spans


@pytest.fixture(scope="module")
def model():
    from napari_noise2inpaint import Noise2InpaintConfig

    config = Noise2InpaintConfig(features=4, unrolls=2, steps=3, batch_size=2, patch_size=16)
    trained = train(synthetic_scene(48)[1], config)
    generator = torch.Generator().manual_seed(5)
    for p in trained.network.parameters():  # non-trivial weights so tiles really interact
        p.data.add_(0.05 * torch.randn(p.shape, generator=generator))
    return trained


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("output", ["z", "x", "masks"])
def test_tiled_and_untiled_results_agree(model, output, precision):
    _, noisy = synthetic_scene(200)
    image = noisy[:190, :163]
    whole = denoise(model, image, output=output, precision=precision)
    tiled = denoise(model, image, output=output, tile_size=64, precision=precision)
    assert np.abs(tiled - whole).max() <= 1e-4 * np.abs(whole).max()


@pytest.mark.parametrize("real", [2048, 1000, 190, 97])
def test_tiles_keep_every_pixel_once_and_read_little_more_than_the_axis(real):
    size, tile, context = real + -real % 4, 1024 if real > 1000 else 64, 48 if real > 1000 else 8
    spans = _spans(size, real, tile, context, 4)
    kept = np.zeros(real, int)
    for source, keep, target in spans:
        assert 0 <= source.start < source.stop <= size and source.stop - source.start <= tile
        assert source.start % 4 == 0 and (source.stop - source.start) % 4 == 0
        assert target.stop - target.start == keep.stop - keep.start
        assert source.start + keep.start == target.start  # the kept part is where it goes
        inner = (source.start > 0) * context, (source.stop < size) * context
        assert keep.start >= inner[0] and keep.stop <= source.stop - source.start - inner[1]
        kept[target] += 1
    assert (kept == 1).all()
    read = sum(source.stop - source.start for source, _, _ in spans)
    assert read <= 1.6 * size if real > tile else read == size
    if real == 2048:
        assert [source.stop - source.start for source, _, _ in spans] == [780] * 3


def test_too_little_overlap_shows_seams(model):
    _, noisy = synthetic_scene(200)
    whole = denoise(model, noisy)
    seamy = denoise(model, noisy, tile_size=64, overlap=4)
    assert np.abs(seamy - whole).max() > 1e-3 * np.abs(whole).max()


@pytest.mark.parametrize("shape", [(37, 31), (1, 1), (5, 3), (2, 37, 31)])
def test_output_has_the_input_shape_and_is_float32(model, shape):
    image = np.random.default_rng(0).integers(0, 4000, shape).astype(np.uint16)
    out = denoise(model, image)
    assert out.shape == image.shape and out.dtype == np.float32


def test_output_is_in_the_input_intensity_scale(model):
    _, noisy = synthetic_scene(64)
    out = denoise(model, (noisy + 1000).astype(np.float32))
    assert abs(out.mean() - (noisy.mean() + 1000)) < 0.2 * noisy.std()


def test_channels_are_denoised_independently(model):
    _, noisy = synthetic_scene(40)
    both = np.stack([noisy, noisy[::-1]], axis=-1)  # HxWx2
    out = denoise(model, both, channel_axis=-1)
    assert np.allclose(out[..., 0], denoise(model, noisy), atol=1e-3)
    assert np.allclose(out[..., 1], denoise(model, noisy[::-1]), atol=1e-3)


def test_progress_counts_tiles(model):
    _, noisy = synthetic_scene(150)
    events = list(iter_denoise(model, np.stack([noisy, noisy]), tile_size=64))
    assert all(isinstance(e, DenoiseProgress) for e in events)
    assert events[-1].done == events[-1].total > 2


def test_the_input_is_not_modified(model):
    _, noisy = synthetic_scene(48)
    before = noisy.copy()
    denoise(model, noisy)
    assert np.array_equal(noisy, before)


def test_mask_averaging_is_reproducible(model):
    _, noisy = synthetic_scene(48)
    first = denoise(model, noisy, output="masks")
    assert np.array_equal(first, denoise(model, noisy, output="masks"))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 5)), "empty"),
        (np.array([np.nan, 1, np.inf, 2] * 4).reshape(4, 4), "8 NaN or Inf"),
        (np.zeros(10), "at least 2 dimensions"),
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
    ],
)
def test_bad_images_get_a_clear_error(model, image, message):
    with pytest.raises(InputError, match=message):
        denoise(model, image)


@pytest.mark.parametrize(
    "image",
    [[np.zeros((8, 8)), np.zeros((9, 9))], [[1, "a"], [2, 3]], None, {"a": 1}, "image.tif"],
)
def test_images_of_the_wrong_kind_get_one_sentence(model, image):
    with pytest.raises(InputError) as error:
        denoise(model, image)
    assert type(error.value) is InputError and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"output": "q"}, "output must be one of"),
        ({"tile_size": "big"}, "tile_size must be a whole number"),
        ({"tile_size": 0}, "tile_size must be at least 1"),
        ({"tile_depth": 2.5}, "tile_depth must be a whole number"),
        ({"overlap": -3}, "overlap must be at least 0"),
        ({"channel_axis": "0"}, "channel_axis must be a whole number"),
        ({"device": None}, "device must be a name"),
        ({"noise_sigma": -2.0}, "noise_sigma must be a positive number"),
        ({"noise_sigma": float("nan")}, "noise_sigma must be a positive number"),
        ({"noise_sigma": "loud"}, "noise_sigma must be a positive number"),
        ({"noise_sigma": True}, "noise_sigma must be a positive number"),
    ],
)
def test_options_of_the_wrong_kind_get_one_sentence(model, options, message):
    with pytest.raises(InputError, match=message):
        denoise(model, np.zeros((16, 16), np.float32), **options)


def test_something_else_than_a_model_is_refused():
    with pytest.raises(InputError, match="Expected a TrainedModel, got str"):
        denoise("model.safetensors", np.zeros((16, 16), np.float32))


def test_an_image_larger_than_memory_is_refused_before_copying(model, monkeypatch):
    from napari_noise2inpaint.images import memory

    monkeypatch.setattr(memory, "available_memory", lambda: 100_000)
    assert denoise(model, np.zeros((64, 64), np.float32)).shape == (64, 64)  # 32 kB of work
    with pytest.raises(InputError, match="needs 0.0 GB of memory, .* denoise_lazy"):
        denoise(model, np.zeros((128, 128), np.uint8))  # 16 kB of data, 128 kB of work

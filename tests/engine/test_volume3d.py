"""The 3D mode: Z stacks denoised as volumes (3D U-Net, 3D masks, 3D patches)."""

import json

import numpy as np
import pytest
import tifffile
import torch
from conftest import psnr

from napari_noise2inpaint import (
    InputError,
    Noise2InpaintConfig,
    denoise,
    iter_denoise,
    load_model,
    save_model,
    train,
)
from napari_noise2inpaint.cli import main
from napari_noise2inpaint.engine.masks import neighbour_values
from napari_noise2inpaint.engine.preview import PreviewSource, denoise_preview
from napari_noise2inpaint.engine.sampling import PatchSampler
from napari_noise2inpaint.engine.unet import UNet, init_weights
from napari_noise2inpaint.modelfiles.model_card import card_markdown, model_card

TINY_3D = {
    "spatial_dims": 3,
    "features": 4,
    "unrolls": 1,
    "steps": 3,
    "batch_size": 2,
    "patch_size": 16,
    "patch_depth": 8,
    "val_interval": 2,
}


def synthetic_volume(shape=(16, 40, 40), sigma=25.0, seed=0):
    """A smooth ellipsoid and a wave that continue across planes, plus white noise."""
    zz, yy, xx = np.mgrid[: shape[0], : shape[1], : shape[2]].astype(np.float32)
    z0, y0, x0 = (s / 2 for s in shape)
    blob = (xx - x0) ** 2 + (yy - y0) ** 2 + 4 * (zz - z0) ** 2 < (0.3 * shape[1]) ** 2
    clean = (60 + 100 * blob + 30 * np.sin(xx / 6 + zz / 5)).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, sigma, shape).astype(np.float32)
    return clean, clean + noise


@pytest.fixture(scope="module")
def model_3d():
    torch.set_num_threads(1)
    return train(synthetic_volume()[1], Noise2InpaintConfig(**TINY_3D))


def test_3d_unet_keeps_odd_shapes_and_starts_as_identity():
    net = UNet(features=4, depth=2, dims=3)
    init_weights(net, torch.Generator().manual_seed(0))
    net.eval()
    volume = torch.randn(2, 1, 7, 13, 11)
    with torch.no_grad():
        out = net(volume)
    assert out.shape == volume.shape
    torch.testing.assert_close(out, volume)
    assert isinstance(net.down[0][0], torch.nn.Conv3d)


def test_3d_partitions_are_disjoint_and_cover_the_volume(rng):
    """Patches covering a whole volume: L consecutive loss sets partition its voxels."""
    shape, n_sets = (4, 8, 8), 4
    volume = torch.arange(np.prod(shape), dtype=torch.float32).reshape(shape)
    sampler = PatchSampler([volume], shape, n_sets, rng)
    seen = []
    for _ in range(n_sets):
        batch = sampler.sample(1)
        assert batch.noisy.shape == (1, 1, *shape)
        seen.append(batch.noisy[batch.loss_set].long())
    ids = torch.cat(seen)
    assert torch.equal(ids.sort().values, torch.arange(np.prod(shape)))


def test_3d_patches_are_crops_rotated_only_in_yx(rng):
    shape = (10, 20, 30)
    volume = torch.arange(np.prod(shape), dtype=torch.float32).reshape(shape)
    batch = PatchSampler([volume], (4, 8, 8), 5, rng).sample(6)
    assert batch.noisy.shape == batch.loss_set.shape == (6, 1, 4, 8, 8)
    for patch in batch.noisy[:, 0]:
        planes = patch // (20 * 30)
        # each patch plane lies in one Z plane, and Z planes follow each other in order
        assert torch.all(planes == planes[:, :1, :1])
        assert torch.equal(planes[:, 0, 0].diff(), torch.ones(3))


def test_3d_neighbour_comes_from_the_5x5x5_window_and_never_the_voxel_itself(rng):
    shape = (6, 7, 8)
    volume = torch.arange(np.prod(shape), dtype=torch.float32).reshape(1, 1, *shape)
    filled = neighbour_values(volume, rng).long()
    assert not torch.any(filled == volume.long())
    source = torch.stack(torch.unravel_index(filled, shape))
    here = torch.stack(torch.unravel_index(volume.long(), shape))
    assert torch.all((source - here).abs() <= 2)
    assert torch.any((source[0] - here[0]) != 0)  # the window reaches other planes


def test_3d_training_raises_psnr():
    clean, noisy = synthetic_volume()
    config = Noise2InpaintConfig(
        **{**TINY_3D, "features": 8, "steps": 60, "batch_size": 4, "learning_rate": 5e-3}
    )
    model = train(noisy, config)
    denoised = denoise(model, noisy)
    assert denoised.shape == noisy.shape
    assert model.history["patch_shape"] == [8, 16, 16]
    assert psnr(denoised, clean) > psnr(noisy, clean) + 1.5


def test_3d_tiled_equals_untiled():
    noisy = synthetic_volume((30, 40, 40))[1]
    model = train(noisy, Noise2InpaintConfig(**{**TINY_3D, "depth": 1}))  # a small context
    whole = denoise(model, noisy)
    tiles = iter_denoise(model, noisy, tile_size=36, tile_depth=28)
    progress = []
    with pytest.raises(StopIteration) as stop:
        while True:
            progress.append(next(tiles))
    assert progress[-1].total >= 3 * 3 * 3  # tiled along Z, Y and X
    tiled = stop.value.value
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-4 * np.abs(whole).max())


def test_3d_leading_axes_are_separate_volumes_and_channels_work(model_3d):
    stack = np.stack([synthetic_volume(seed=s)[1] for s in range(2)])  # T, Z, Y, X
    out = denoise(model_3d, stack)
    np.testing.assert_allclose(out[1], denoise(model_3d, stack[1]), rtol=1e-5, atol=1e-3)
    channels = np.stack([stack[0], stack[0] / 2], axis=1)  # Z, C, Y, X
    out = denoise(model_3d, channels, channel_axis=1)
    assert out.shape == channels.shape


def test_3d_model_file_round_trip_and_seed(model_3d, tmp_path):
    path = tmp_path / "volume.safetensors"
    save_model(model_3d, path)
    loaded = load_model(path)
    assert loaded.config.spatial_dims == 3
    assert "3D" in card_markdown(model_card(loaded), [])
    noisy = synthetic_volume()[1]
    np.testing.assert_array_equal(denoise(loaded, noisy), denoise(model_3d, noisy))
    again = train(noisy, Noise2InpaintConfig(**TINY_3D))
    np.testing.assert_array_equal(denoise(again, noisy), denoise(model_3d, noisy))


def test_old_config_without_3d_keys_loads_as_2d():
    data = json.loads(Noise2InpaintConfig().to_json())
    del data["spatial_dims"], data["patch_depth"]
    config = Noise2InpaintConfig.from_json(json.dumps(data))
    assert config.spatial_dims == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spatial_dims": 4}, "spatial_dims must be 2 or 3"),
        ({"patch_depth": 6}, "patch_depth must be a positive multiple of 4"),
        ({"noise_model": "correlated"}, "correlated noise model is 2D only"),
    ],
)
def test_bad_3d_settings_are_refused(changes, message):
    with pytest.raises(InputError, match=message):
        Noise2InpaintConfig(**{**TINY_3D, **changes})


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.ones((40, 40)), {}, "3D mode needs a Z axis"),
        (np.ones((3, 40, 40)), {"channel_axis": 0}, "3D mode needs a Z axis"),
        (np.ones((3, 40, 40)), {}, "only 3 Z planes"),
    ],
)
def test_images_without_enough_z_are_refused_in_3d(image, kwargs, message):
    with pytest.raises(InputError, match=message):
        train(image, Noise2InpaintConfig(**TINY_3D, **kwargs))


def test_thin_volumes_shrink_the_patch_depth_with_a_note():
    model = train(synthetic_volume((5, 32, 32))[1], Noise2InpaintConfig(**TINY_3D))
    assert model.history["patch_shape"] == [4, 16, 16]
    assert any("patch depth 4" in note for note in model.history["notes"])


def test_3d_preview_denoises_a_slab_and_returns_the_plane_in_view(model_3d):
    slab = synthetic_volume((6, 24, 20))[1]
    source = PreviewSource()
    source.set_plane(slab, centre=2)
    expected = denoise(model_3d, slab)[2]
    np.testing.assert_allclose(denoise_preview(model_3d, source), expected, rtol=1e-5, atol=1e-3)
    source.set_plane(np.stack([slab, slab], axis=-1), centre=2)
    assert denoise_preview(model_3d, source).shape == (24, 20, 2)
    source.set_plane(slab[2])  # a single plane cannot be previewed by a 3D model
    assert denoise_preview(model_3d, source) is None


def test_3d_model_export_is_refused(model_3d, tmp_path):
    from napari_noise2inpaint.modelfiles.bioimageio_export import export_bioimageio

    with pytest.raises(InputError, match="2D models only"):
        export_bioimageio(model_3d, tmp_path / "model.zip")


def test_cli_trains_and_denoises_a_volume(tmp_path, capsys):
    image, model, out = tmp_path / "stack.tif", tmp_path / "m.safetensors", tmp_path / "out.tif"
    tifffile.imwrite(image, synthetic_volume((8, 32, 32))[1])
    options = ["--dims", "3", "--patch-depth", "8", "--features", "4", "--unrolls", "1"]
    argv = ["train", str(image), "--out", str(model), "--steps", "2", "--patch", "16", *options]
    assert main(argv) == 0
    assert load_model(model).config.spatial_dims == 3
    assert main(["denoise", str(image), "--model", str(model), "--out", str(out)]) == 0
    assert tifffile.imread(out).shape == (8, 32, 32)

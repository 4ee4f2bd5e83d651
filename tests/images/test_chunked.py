"""Out-of-core denoising: chunked == in-memory, OME-Zarr output, CLI paths, lazy training crops."""

import dask.array as da
import numpy as np
import pytest
import tifffile
import torch
import zarr

from napari_noise2inpaint import denoise, load_model, save_model, train
from napari_noise2inpaint.cli import main
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images import chunked
from napari_noise2inpaint.images.chunked import denoise_lazy, iter_denoise_chunks, plan_chunks
from napari_noise2inpaint.images.crops import training_crops
from napari_noise2inpaint.images.ome_zarr import create_ome_zarr, open_lazy
from napari_noise2inpaint.modelfiles.checkpoint import model_to_bytes
from napari_noise2inpaint.modelfiles.loading import model_from_bytes


@pytest.fixture(scope="module")
def stack():
    return np.random.default_rng(0).normal(100, 20, (3, 150, 170)).astype(np.float32)


@pytest.fixture(scope="module")
def model(stack):
    from napari_noise2inpaint import Noise2InpaintConfig

    config = Noise2InpaintConfig(
        features=4, unrolls=2, steps=4, batch_size=2, patch_size=16, val_interval=2
    )
    return train(stack, config)


def _saved(model, folder):
    path = folder / "m.safetensors"
    save_model(model, path)
    return path


def _ome_input(path, data, scale):
    target = create_ome_zarr(path, data.shape, (1, 64, 64), "zyx", scale, name="input")
    target[...] = data
    return path


def test_chunked_equals_in_memory_across_chunk_borders(model, stack):
    plan = plan_chunks(model, stack.shape, chunks=(2, 52, 60))
    lazy = denoise_lazy(model, da.from_array(stack, chunks=(1, 40, 40)), plan=plan)
    whole = denoise(model, stack)
    chunked = lazy.compute()
    assert len(plan.chunks[2]) == 3  # the X axis really was cut
    # the columns on both sides of every chunk border agree with whole-image prediction
    for border in np.cumsum(plan.chunks[2])[:-1]:
        cols = slice(border - 2, border + 2)
        np.testing.assert_allclose(chunked[..., cols], whole[..., cols], rtol=0, atol=1e-3)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-3)
    assert np.std(whole) > 0


def test_chunks_written_one_by_one_equal_lazy_result(model, stack):
    plan = plan_chunks(model, stack.shape, chunks=(1, 64, 96))
    lazy = denoise_lazy(model, stack, plan=plan)
    out = np.full(stack.shape, np.nan, dtype=np.float32)
    events = list(iter_denoise_chunks(model, da.from_array(stack, chunks=50), out, plan=plan))
    assert events[-1].done == events[-1].total == int(np.prod(lazy.numblocks)) > 3
    np.testing.assert_allclose(out, lazy.compute(), atol=1e-5)


def test_small_halo_and_odd_chunks_are_corrected_with_notes(model):
    reach = model.network.receptive_radius()
    plan = plan_chunks(model, (3, 150, 170), chunks=(1, 30, 50), halo=4)
    assert all(h >= reach and h % 4 == 0 for h in plan.halo.values())
    assert all(size % 4 == 0 and size >= plan.halo[1] for size in plan.chunks[1][:-1])
    assert any("halo" in note for note in plan.notes)
    assert any("Chunk size 30" in note for note in plan.notes)
    # a trailing sliver thinner than the halo is merged into its neighbour
    assert min(plan.chunks[2]) >= plan.halo[2]


def test_bad_chunk_requests_are_refused(model):
    with pytest.raises(InputError, match="one chunk size per axis"):
        plan_chunks(model, (3, 150, 170), chunks=(64, 64))
    with pytest.raises(InputError, match="channel axis"):
        plan_chunks(model, (150, 170, 3), channel_axis=1)
    with pytest.raises(InputError, match="number"):
        denoise_lazy(model, np.zeros((64, 64), np.float32), noise_sigma="estimate")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, s: plan_chunks(m, s.shape, chunks=("a", 64, 64)), "chunk size must be a whole"),
        (lambda m, s: plan_chunks(m, s.shape, chunks=64), "chunks must be a tuple"),
        (lambda m, s: plan_chunks(m, s.shape, halo=2.5), "halo must be a whole number"),
        (lambda m, s: plan_chunks("model", s.shape), "Expected a TrainedModel"),
        (lambda m, s: denoise_lazy(m, s, output="q"), "output must be one of"),
        (lambda m, s: denoise_lazy(m, [s[0], s[0, :5]]), "not one array"),
        (
            lambda m, s: list(iter_denoise_chunks(m, s, np.empty_like(s), tile_size="x")),
            "tile_size",
        ),
    ],
)
def test_options_of_the_wrong_kind_are_refused_before_any_work(model, stack, call, message):
    with pytest.raises(InputError, match=message):
        call(model, stack)


def test_model_bytes_round_trip(model, stack):
    again = model_from_bytes(model_to_bytes(model))
    np.testing.assert_array_equal(denoise(again, stack[0]), denoise(model, stack[0]))


def test_ome_zarr_keeps_axes_and_scale(tmp_path, stack):
    path = _ome_input(tmp_path / "in.zarr", stack, [2.0, 0.5, 0.5])
    lazy = open_lazy(path)
    assert lazy.axes == "zyx" and lazy.scale == [2.0, 0.5, 0.5]
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.data.compute(), stack)
    with pytest.raises(InputError, match="already exists"):
        create_ome_zarr(path, (4, 4), (4, 4), "yx")


def test_cli_denoises_ome_zarr_into_new_ome_zarr(tmp_path, model, stack, capsys):
    model_path = _saved(model, tmp_path)
    source = _ome_input(tmp_path / "in.zarr", stack, [2.0, 0.5, 0.5])
    before = zarr.open_array(str(source / "0"), mode="r")[...]
    out = tmp_path / "out.zarr"
    code = main(
        [
            "denoise",
            str(source),
            "--model",
            str(model_path),
            "--out",
            str(out),
            "--chunks",
            "1,64,64",
            "--halo",
            "8",
        ]
    )
    assert code == 0
    result = open_lazy(out)
    assert result.axes == "zyx" and result.scale == [2.0, 0.5, 0.5]
    np.testing.assert_allclose(result.data.compute(), denoise(model, stack), atol=1e-3)
    np.testing.assert_array_equal(zarr.open_array(str(source / "0"), mode="r")[...], before)
    assert "halo" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zarr", "m.safetensors", "out.zarr"]


def test_cli_refuses_existing_output_and_non_zarr_name(tmp_path, model, stack, capsys):
    model_path = _saved(model, tmp_path)
    tifffile.imwrite(tmp_path / "in.tif", stack, photometric="minisblack")
    source = str(tmp_path / "in.tif")
    (tmp_path / "taken.zarr").mkdir()
    assert (
        main(["denoise", source, "--model", str(model_path), "--out", str(tmp_path / "taken.zarr")])
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        main(
            [
                "denoise",
                source,
                "--model",
                str(model_path),
                "--out",
                str(tmp_path / "x.tif"),
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
        == 2
    )
    assert ".zarr" in capsys.readouterr().err
    # a TIFF is read lazily into a chunked OME-Zarr result too
    out = tmp_path / "from_tiff.zarr"
    assert main(["denoise", source, "--model", str(model_path), "--out", str(out)]) == 0
    np.testing.assert_allclose(open_lazy(out).data.compute(), denoise(model, stack), atol=1e-3)


def test_training_crops_stay_within_budget(stack):
    big = da.from_array(np.tile(stack, (1, 4, 4)), chunks=(1, 200, 200))
    crops = training_crops(big, torch.Generator().manual_seed(0), max_pixels=600 * 600)
    assert len(crops) == 1 and crops[0].shape == (512, 512)
    small = training_crops(stack, torch.Generator().manual_seed(0))
    assert len(small) == 3 and small[0].shape == (150, 170)


def test_cli_trains_on_a_zarr_store(tmp_path, stack):
    source = _ome_input(tmp_path / "in.zarr", stack, None)
    out = tmp_path / "m.safetensors"
    code = main(
        [
            "train",
            str(source),
            "--out",
            str(out),
            "--steps",
            "2",
            "--features",
            "4",
            "--unrolls",
            "1",
            "--patch",
            "16",
            "--batch",
            "2",
        ]
    )
    assert code == 0
    assert load_model(out).data_info["planes"] == 3


def test_cli_runs_the_chunks_on_a_dask_scheduler(tmp_path, model, stack):
    from distributed import LocalCluster

    model_path = _saved(model, tmp_path)
    source = _ome_input(tmp_path / "in.zarr", stack, [2.0, 0.5, 0.5])
    out = tmp_path / "out.zarr"
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        code = main(
            [
                "denoise",
                str(source),
                "--model",
                str(model_path),
                "--out",
                str(out),
                "--chunks",
                "1,64,64",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
    assert code == 0
    np.testing.assert_allclose(open_lazy(out).data.compute(), denoise(model, stack), atol=1e-3)


def test_unreachable_scheduler_is_a_clear_error(tmp_path, model, stack, capsys, monkeypatch):
    monkeypatch.setattr(chunked, "CONNECT_TIMEOUT_S", 1)
    model_path = _saved(model, tmp_path)
    source = _ome_input(tmp_path / "in.zarr", stack, None)
    code = main(
        [
            "denoise",
            str(source),
            "--model",
            str(model_path),
            "--out",
            str(tmp_path / "o.zarr"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ]
    )
    assert code == 2
    assert "Cannot reach the dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "o.zarr").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_3d_model_chunks_get_a_z_halo_and_equal_in_memory():
    from napari_noise2inpaint import Noise2InpaintConfig

    config = Noise2InpaintConfig(
        spatial_dims=3,
        features=2,
        unrolls=1,
        depth=1,
        steps=2,
        batch_size=1,
        patch_size=8,
        patch_depth=4,
        val_interval=1,
    )
    volume = np.random.default_rng(1).normal(100, 20, (24, 40, 36)).astype(np.float32)
    model = train(volume, config)
    plan = plan_chunks(model, volume.shape, chunks=(8, 16, 16))
    assert set(plan.halo) == {0, 1, 2} and len(plan.chunks[0]) == 2
    chunked = denoise_lazy(model, volume, plan=plan).compute()
    np.testing.assert_allclose(chunked, denoise(model, volume), rtol=0, atol=1e-3)


def test_large_lazy_images_train_on_random_crops(monkeypatch):
    from napari_noise2inpaint import Noise2InpaintConfig
    from napari_noise2inpaint.images import crops

    monkeypatch.setattr(crops, "DEFAULT_MAX_PIXELS", 2 * 96 * 80)
    volume = da.from_array(np.random.default_rng(2).normal(100, 20, (6, 96, 80)), chunks=32)
    config = Noise2InpaintConfig(features=4, unrolls=1, steps=2, batch_size=2, patch_size=16)
    model = train(volume, config)
    assert model.data_info["planes"] == 2  # two whole-plane crops fit the budget
    assert any("random crops" in note for note in model.history["notes"])
    with pytest.raises(InputError, match="single-channel"):
        train(volume, config.replace(channel_axis=0))

import numpy as np
import pytest
import tifffile

from napari_noise2inpaint._reader import get_reader, read_tiff
from napari_noise2inpaint._writer import write_image


def test_reader_is_offered_only_for_existing_tiffs(tmp_path):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8))
    assert get_reader(str(path)) is read_tiff
    assert get_reader([str(path)]) is read_tiff
    assert get_reader(str(tmp_path / "a.png")) is None
    assert get_reader(str(tmp_path / "missing.tif")) is None
    assert get_reader([str(path), str(path)]) is None


def test_multipage_imagej_tiff_keeps_scale_units_and_axes(tmp_path):
    data = np.arange(3 * 5 * 6, dtype=np.uint16).reshape(3, 5, 6)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.5),  # pixels per unit along X, then Y
        metadata={"axes": "ZYX", "spacing": 2.0, "unit": "micron"},
    )
    [(read, kwargs, kind)] = read_tiff(str(path))
    assert kind == "image"
    np.testing.assert_array_equal(read, data)
    assert kwargs["name"] == "stack"
    np.testing.assert_allclose(kwargs["scale"], (2.0, 0.5, 0.25))
    assert kwargs["axis_labels"] == ("z", "y", "x")
    assert kwargs["units"] == ("micrometer",) * 3
    assert kwargs["metadata"]["imagej"]["spacing"] == 2.0


def test_ome_tiff_physical_sizes(tmp_path):
    path = tmp_path / "cells.ome.tif"
    data = np.zeros((2, 8, 8), np.float32)
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "ZYX",
            "PhysicalSizeX": 0.1,
            "PhysicalSizeY": 0.2,
            "PhysicalSizeZ": 1.5,
            "PhysicalSizeXUnit": "nm",
            "PhysicalSizeYUnit": "nm",
            "PhysicalSizeZUnit": "nm",
        },
    )
    [(_, kwargs, _)] = read_tiff(str(path))
    np.testing.assert_allclose(kwargs["scale"], (1.5, 0.2, 0.1))
    assert kwargs["units"] == ("nanometer",) * 3


def test_imagej_round_trip(tmp_path):
    data = np.random.default_rng(0).random((3, 7, 9)).astype(np.float32)
    meta = {"scale": (4.0, 0.5, 0.25), "units": ("micrometer",) * 3, "axis_labels": "zyx"}
    path = str(tmp_path / "out.tif")
    assert write_image(path, data, meta) == [path]
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
    [(read, kwargs, _)] = read_tiff(path)
    np.testing.assert_array_equal(read, data)
    np.testing.assert_allclose(kwargs["scale"], meta["scale"], rtol=1e-6)
    assert kwargs["units"] == meta["units"]


def test_non_imagej_dtype_round_trip_keeps_scale_and_labels(tmp_path):
    data = np.arange(2 * 3 * 4 * 5, dtype=np.int32).reshape(2, 3, 4, 5)
    meta = {"scale": (1.0, 2.0, 0.5, 0.25), "axis_labels": ("t", "c", "y", "x")}
    path = str(tmp_path / "ints.tiff")
    write_image(path, data, meta)
    [(read, kwargs, _)] = read_tiff(path)
    np.testing.assert_array_equal(read, data)
    np.testing.assert_allclose(kwargs["scale"], meta["scale"])
    assert kwargs["axis_labels"] == meta["axis_labels"]


def test_rgb_layer_round_trip_keeps_colour_axis_and_scale(tmp_path):
    data = np.random.default_rng(1).integers(0, 255, (9, 11, 3), dtype=np.uint8)
    path = str(tmp_path / "rgb.tif")
    write_image(path, data, {"scale": (0.5, 0.25), "rgb": True, "axis_labels": ("y", "x")})
    [(read, kwargs, _)] = read_tiff(path)
    np.testing.assert_array_equal(read, data)
    assert kwargs["rgb"] and kwargs["scale"] == (0.5, 0.25)
    assert kwargs["axis_labels"] == ("y", "x")


def test_time_series_keeps_frame_interval_and_dtype(tmp_path):
    data = np.arange(4 * 2 * 6 * 7, dtype=np.uint16).reshape(4, 2, 6, 7)
    path = str(tmp_path / "movie.tif")
    write_image(
        path, data, {"scale": (3.0, 2.0, 0.5, 0.5), "units": ("second",) + ("micrometer",) * 3}
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej and tif.imagej_metadata["finterval"] == 3.0
        assert tif.imagej_metadata["unit"] == "micron"
    [(read, kwargs, _)] = read_tiff(path)
    assert read.dtype == np.uint16
    np.testing.assert_allclose(kwargs["scale"], (3.0, 2.0, 0.5, 0.5))


def test_writer_refuses_a_missing_folder_in_one_sentence(tmp_path):
    from napari_noise2inpaint.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        write_image(str(tmp_path / "nowhere" / "a.tif"), np.zeros((4, 4), np.float32), {})

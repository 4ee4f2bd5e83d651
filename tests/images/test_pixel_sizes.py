"""Issue 20 E/F: untrusted pixel sizes, axis names and units never reach napari unchecked; the
writer refuses or replaces sizes a TIFF cannot hold; 1-bit and bool TIFFs are read."""

import math

import numpy as np
import pytest
import tifffile
from napari.layers import Image as ImageLayer  # noqa: TID251 (napari must accept the layer)
from PIL import Image

from napari_noise2inpaint._reader import read_tiff
from napari_noise2inpaint._writer import write_image
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.io import read_image, write_tiff

BAD_SCALES = [[0, 1], [math.nan, 1], [-1, 1], [math.inf, 1], ["a", "b"], [1.0], [1e-300, 1]]


def layer_of(path):
    [(data, kwargs, kind)] = read_tiff(str(path))
    ImageLayer(data, **kwargs)  # napari accepts what the reader passes
    return data, kwargs


@pytest.mark.parametrize("scale", BAD_SCALES, ids=repr)
def test_bad_scale_in_the_file_is_dropped_with_a_note(tmp_path, scale):
    path = tmp_path / "a.tif"
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    tifffile.imwrite(path, image, metadata={"scale": scale})
    data, kwargs = layer_of(path)
    np.testing.assert_array_equal(data, image)
    assert kwargs["scale"] == (1.0, 1.0)
    assert "pixel sizes" in kwargs["metadata"]["notes"][0]


@pytest.mark.parametrize("labels", [[1, 2], ["y"], ["a", "a"], "yx", [None, "x"]], ids=repr)
def test_bad_axis_names_in_the_file_are_dropped_with_a_note(tmp_path, labels):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((3, 4), np.uint8), metadata={"axis_labels": labels})
    _, kwargs = layer_of(path)
    assert kwargs["axis_labels"] == ("y", "x")
    assert "axis names" in kwargs["metadata"]["notes"][0]


@pytest.mark.parametrize("spacing", [0.0, -2.0, math.nan, math.inf])
def test_bad_imagej_spacing_and_unit_are_dropped_keeping_the_good_sizes(tmp_path, spacing):
    path = tmp_path / "z.tif"
    metadata = {"axes": "ZYX", "spacing": spacing, "unit": "blorp"}
    tifffile.imwrite(
        path,
        np.zeros((2, 3, 4), np.uint8),
        imagej=True,
        metadata=metadata,
        resolution=(1 / 0.5, 1 / 0.5),
    )
    _, kwargs = layer_of(path)
    assert kwargs["scale"] == pytest.approx((1.0, 0.5, 0.5))
    assert kwargs.get("units", ("pixel",) * 3) == ("pixel",) * 3
    notes = " ".join(kwargs["metadata"]["notes"])
    assert "pixel size" in notes and "along Z" in notes and "blorp" in notes


@pytest.mark.parametrize("size", ["-1.0", "0", "NaN", "INF", "abc"])
def test_bad_ome_physical_size_is_dropped_and_its_unit_with_it(tmp_path, size):
    path = tmp_path / "a.ome.tif"
    xml_size = float(size) if size != "abc" else 1.0
    metadata = {"axes": "YX", "PhysicalSizeX": xml_size, "PhysicalSizeY": 0.5}
    tifffile.imwrite(path, np.zeros((3, 4), np.uint8), ome=True, metadata=metadata)
    if size == "abc":  # tifffile writes numbers only: put the string into the XML itself
        with tifffile.TiffFile(path) as tif:
            xml = tif.ome_metadata.replace('PhysicalSizeX="1.0"', 'PhysicalSizeX="abc"')
        tifffile.imwrite(path, np.zeros((3, 4), np.uint8), description=xml, metadata=None)
    _, kwargs = layer_of(path)
    assert kwargs["scale"] == pytest.approx((0.5, 1.0))
    assert kwargs["units"] == ("micrometer", "pixel")
    assert "along X" in kwargs["metadata"]["notes"][0]


def test_good_metadata_gives_no_note(tmp_path):
    path = tmp_path / "a.tif"
    write_tiff(path, np.zeros((2, 3, 4)), scale=(2.0, 0.5, 0.25), unit="micrometer")
    _, kwargs = layer_of(path)
    assert kwargs["scale"] == pytest.approx((2.0, 0.5, 0.25))
    assert kwargs["units"] == ("micrometer",) * 3 and "notes" not in kwargs["metadata"]


@pytest.mark.parametrize("scale", [[math.nan, 1.0], [1e-300, 1.0], [1.0, 1e300], [0.0, 1.0]])
def test_the_writer_stores_1_for_sizes_a_tiff_cannot_hold(tmp_path, scale):
    path = tmp_path / "out.tif"
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert write_image(str(path), image, {"scale": scale}) == [str(path)]
    data, kwargs = layer_of(path)
    np.testing.assert_array_equal(data, image)
    assert kwargs["scale"] == (1.0, 1.0)
    with pytest.raises(InputError, match="pixel sizes from"):
        write_tiff(tmp_path / "api.tif", image, scale=scale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]  # no temporary file left


def test_a_1_bit_tiff_is_read_not_called_damaged(tmp_path):
    mask = np.random.default_rng(0).random((37, 45)) > 0.5  # rows not a multiple of 8 bits
    tifffile.imwrite(tmp_path / "tifffile.tif", mask)
    Image.fromarray(mask).save(tmp_path / "pillow.tif")
    for name in ("tifffile.tif", "pillow.tif"):
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert tif.pages.first.bitspersample == 1
        np.testing.assert_array_equal(read_image(tmp_path / name).astype(bool), mask)
        np.testing.assert_array_equal(layer_of(tmp_path / name)[0].astype(bool), mask)


def test_a_bool_layer_saved_by_our_writer_opens_in_our_reader(tmp_path):
    mask = np.zeros((2, 20, 30), dtype=bool)
    mask[:, 5:9, 3:17] = True
    path = tmp_path / "mask.tif"
    write_image(str(path), mask, {"scale": (2.0, 0.5, 0.5), "axis_labels": ("z", "y", "x")})
    data, kwargs = layer_of(path)
    assert data.dtype == bool
    np.testing.assert_array_equal(data, mask)
    assert kwargs["scale"] == pytest.approx((2.0, 0.5, 0.5))

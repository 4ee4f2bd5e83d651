"""Hostile and unlucky image files: sizes checked before allocation, malformed zarr refused.

Every file here is tiny; the ones that lie about their size would need gigabytes if read.
"""

import gc
import struct
import warnings

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from napari_noise2inpaint._reader import read_tiff
from napari_noise2inpaint._zarr_reader import read_ome_zarr
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images import memory
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.images.ome_zarr import create_ome_zarr, open_lazy


def _lying_tiff(path, side=100_000):
    """A 16 x 16 uint8 TIFF whose header claims ``side`` x ``side`` pixels (10 GB)."""
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    with tifffile.TiffFile(path) as tif:
        offsets = [tif.pages[0].tags[name].valueoffset for name in ("ImageWidth", "ImageLength")]
    with open(path, "r+b") as handle:
        for offset in offsets:
            handle.seek(offset)
            handle.write(struct.pack("<I", side))
    return path


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend that 1 MB of memory is available."""
    monkeypatch.setattr(memory, "available_memory", lambda: 2**20)


def test_a_header_claiming_10_gb_in_a_tiny_file_is_refused_before_reading(tmp_path):
    path = _lying_tiff(tmp_path / "liar.tif")
    with pytest.raises(InputError, match=r"100000 x 100000 uint8 pixels .* damaged") as error:
        read_image(path)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="damaged"):
        read_tiff(str(path))
    with pytest.raises(InputError, match="damaged"):
        open_lazy(path)  # the chunked path reads the same header


def test_an_image_larger_than_memory_is_refused_with_the_chunked_way(tmp_path, little_memory):
    path = tmp_path / "big.tif"
    tifffile.imwrite(
        path, np.zeros((4, 256, 256), np.uint16), photometric="minisblack"
    )  # 512 kB, stored uncompressed
    tifffile.imwrite(
        tmp_path / "bigger.tif", np.zeros((5, 512, 512), np.uint16), photometric="minisblack"
    )
    assert read_image(path).shape == (4, 256, 256)
    with pytest.raises(InputError, match=r"more than the 0\.0 GB available.*chunk by chunk"):
        read_image(tmp_path / "bigger.tif")


def test_pages_written_one_by_one_count_together(tmp_path, little_memory):
    with tifffile.TiffWriter(tmp_path / "pages.tif") as writer:
        for _ in range(12):
            writer.write(np.zeros((128, 128), np.uint8))  # 16 kB each, 192 kB in all
    assert read_image(tmp_path / "pages.tif").shape == (12, 128, 128)
    with tifffile.TiffWriter(tmp_path / "many.tif") as writer:
        for _ in range(80):
            writer.write(np.zeros((128, 128), np.uint8))  # 1.3 MB in all
    with pytest.raises(InputError, match="available"):
        read_image(tmp_path / "many.tif")


def test_napari_opens_a_tiff_larger_than_memory_lazily(tmp_path, little_memory):
    data = np.arange(5 * 512 * 512, dtype=np.uint16).reshape(5, 512, 512)
    tifffile.imwrite(tmp_path / "big.tif", data, photometric="minisblack")
    [(layer, kwargs, kind)] = read_tiff(str(tmp_path / "big.tif"))
    assert isinstance(layer, da.Array) and kind == "image"
    np.testing.assert_array_equal(layer[1].compute(), data[1])
    with warnings.catch_warnings():  # napari keeps the file open while the layer lives
        warnings.simplefilter("ignore", ResourceWarning)
        del layer
        gc.collect()


@pytest.mark.parametrize(
    "content", [b"II*\x00" + b"\xff" * 60, b"MM\x00*garbage", b"II*\x00\x08\x00\x00\x00"]
)
def test_garbage_tiffs_are_one_sentence_in_napari_and_the_api(tmp_path, content):
    path = tmp_path / "garbage.tif"
    path.write_bytes(content)
    for read in (read_image, read_tiff):
        with pytest.raises(InputError, match="Cannot read") as error:
            read(str(path))
        assert "\n" not in str(error.value)


def test_a_png_claiming_a_huge_size_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "bomb.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    raw = bytearray(path.read_bytes())
    raw[16:24] = struct.pack(">II", 60_000, 60_000)  # IHDR width and height
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="Cannot read") as error:
        read_image(path)
    assert "\n" not in str(error.value)


def _group(path, attributes, arrays=()):
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    for name, shape in arrays:
        group.create_array(name, shape=shape, dtype="float32", fill_value=0)
    group.attrs.update(attributes)
    return path


def _multiscales(dataset="0", **extra):
    return {"multiscales": [{"version": "0.4", "datasets": [{"path": dataset}], **extra}]}


MALFORMED = {
    "empty multiscales": ({"multiscales": []}, "no 'multiscales'"),
    "multiscales a string": ({"multiscales": "garbage"}, "names no dataset"),
    "multiscales of numbers": ({"multiscales": [1, 2]}, "names no dataset"),
    "no datasets": ({"multiscales": [{"datasets": []}]}, "names no dataset"),
    "dataset path a number": (_multiscales(dataset=3), "names no dataset"),
    "dataset outside the store": (_multiscales(dataset="../0"), "names no dataset"),
    "missing dataset": (_multiscales(dataset="7"), "names dataset '7'"),
    "dataset is a group": (_multiscales(dataset="sub"), "is a group"),
    "axes without names": (_multiscales(axes=[{"type": "space"}, {}]), "'axes' are not named"),
    "axes a number": (_multiscales(axes=5), "'axes' are not named"),
    "scale of words": (
        {
            "multiscales": [
                {
                    "datasets": [
                        {
                            "path": "0",
                            "coordinateTransformations": [{"type": "scale", "scale": ["a", "b"]}],
                        }
                    ]
                }
            ]
        },
        "scale",
    ),
    "scale of the wrong length": (
        {
            "multiscales": [
                {
                    "datasets": [
                        {
                            "path": "0",
                            "coordinateTransformations": [{"type": "scale", "scale": [1.0]}],
                        }
                    ]
                }
            ]
        },
        "scale",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_ome_zarr_is_one_input_error(tmp_path, case):
    attributes, match = MALFORMED[case]
    path = _group(tmp_path / "bad.zarr", attributes, [("0", (4, 5))])
    zarr.open_group(str(path), mode="a").create_group("sub")
    with pytest.raises(InputError, match=match) as error:
        open_lazy(path)
    assert "\n" not in str(error.value)
    assert read_ome_zarr(str(path)) == []  # napari: not ours to read, no traceback


def test_empty_arrays_are_refused(tmp_path):
    plain = zarr.open_array(str(tmp_path / "empty.zarr"), mode="w", shape=(0, 5), dtype="f4")
    with pytest.raises(InputError, match=r"shape \(0, 5\)"):
        open_lazy(tmp_path / "empty.zarr")
    assert plain.size == 0
    _group(tmp_path / "g.zarr", _multiscales(), [("0", (3, 0, 4))])
    with pytest.raises(InputError, match="an image needs"):
        open_lazy(tmp_path / "g.zarr")


def test_our_own_ome_zarr_still_opens(tmp_path):
    create_ome_zarr(tmp_path / "ok.zarr", (2, 8, 8), (1, 8, 8), "zyx", [2.0, 0.5, 0.5])
    image = open_lazy(tmp_path / "ok.zarr")
    assert image.axes == "zyx" and image.scale == [2.0, 0.5, 0.5]

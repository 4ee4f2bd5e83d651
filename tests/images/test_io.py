import os
import stat

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images import io
from napari_noise2inpaint.images.io import read_image, write_tiff

RNG = np.random.default_rng(0)


def test_2d_round_trip_is_float32_imagej(tmp_path):
    data = RNG.normal(100, 10, (24, 32))
    path = write_tiff(tmp_path / "a.tif", data)
    back = read_image(path)
    assert back.dtype == np.float32 and back.shape == (24, 32)
    np.testing.assert_allclose(back, data.astype(np.float32))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej


def test_stack_round_trip_with_scale(tmp_path):
    data = RNG.random((3, 16, 20)).astype(np.float32)
    path = write_tiff(tmp_path / "s.tif", data, scale=(2.0, 0.5, 0.25), axes="ZYX")
    np.testing.assert_array_equal(read_image(path), data)
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 3
        assert tif.imagej_metadata["spacing"] == 2.0
        assert tif.pages[0].get_resolution() == pytest.approx((4.0, 2.0))


def test_multipage_stack_is_read_whole(tmp_path):
    data = RNG.integers(0, 4000, (4, 12, 10), dtype=np.uint16)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as writer:
        for plane in data:
            writer.write(plane)
    back = read_image(tmp_path / "pages.tif")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, data)


def test_rgb_float_keeps_shape(tmp_path):
    data = RNG.random((12, 14, 3)).astype(np.float32)
    np.testing.assert_array_equal(read_image(write_tiff(tmp_path / "rgb.tif", data)), data)


@pytest.mark.parametrize("mode", ["L", "I;16", "RGB", "RGBA", "P", "LA"])
def test_png(tmp_path, mode):
    rgb = RNG.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    image.save(tmp_path / "x.PNG")
    back = read_image(tmp_path / "x.PNG")
    expected = {"RGB": (10, 12, 3), "RGBA": (10, 12, 4), "P": (10, 12, 3)}
    assert back.shape == expected.get(mode, (10, 12))
    if mode in ("L", "RGB"):
        np.testing.assert_array_equal(back, np.array(image))


def test_jpeg_gray(tmp_path):
    Image.fromarray(np.full((8, 8), 77, np.uint8)).save(tmp_path / "g.jpg")
    back = read_image(tmp_path / "g.jpg")
    assert back.shape == (8, 8) and abs(int(back[4, 4]) - 77) <= 2


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.tif", None, "does not exist"),
        ("garbage.tif", b"\x00garbage" * 20, "Cannot read"),
        ("garbage.png", b"\x89PNG not really" * 5, "Cannot read"),
        ("image.bmp", b"BM", "unsupported extension"),
    ],
)
def test_read_errors_are_one_line(tmp_path, name, content, match):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        read_image(tmp_path / name)
    assert "\n" not in str(info.value)


def test_truncated_png(tmp_path):
    Image.fromarray(RNG.integers(0, 255, (64, 64), dtype=np.uint8)).save(tmp_path / "t.png")
    raw = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="Cannot read"):
        read_image(tmp_path / "t.png")


def test_write_refuses_source_and_missing_folder(tmp_path):
    source = write_tiff(tmp_path / "in.tif", np.ones((8, 8)))
    before = source.read_bytes()
    with pytest.raises(InputError, match="overwrite the input"):
        write_tiff(tmp_path / "." / "in.tif", np.zeros((8, 8)), source=source)
    assert source.read_bytes() == before
    with pytest.raises(InputError, match="does not exist"):
        write_tiff(tmp_path / "nope" / "out.tif", np.zeros((8, 8)))
    with pytest.raises(InputError, match="axes"):
        write_tiff(tmp_path / "out.tif", np.zeros((8, 8)), axes="ZYX")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(path, data, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(io.tifffile, "imwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        write_tiff(tmp_path / "out.tif", np.zeros((8, 8)))
    assert list(tmp_path.iterdir()) == []


def test_written_file_has_umask_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_tiff(tmp_path / "p.tif", np.zeros((8, 8)))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_outputs_that_cannot_be_files_are_one_sentence(tmp_path, monkeypatch):
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        write_tiff(tmp_path / "folder.tif", np.zeros((8, 8)))
    with pytest.raises(InputError, match="is a folder, not an image file"):
        read_image(tmp_path / "folder.tif")
    os.mkfifo(tmp_path / "pipe.tif")  # reading it would wait forever
    with pytest.raises(InputError, match="is not a regular file"):
        read_image(tmp_path / "pipe.tif")
    (tmp_path / "pipe.tif").unlink()
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match="is not writable"):
        write_tiff(tmp_path / "out.tif", np.zeros((8, 8)))
    assert [p.name for p in tmp_path.iterdir()] == ["folder.tif"]

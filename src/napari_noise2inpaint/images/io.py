"""Reading images (TIFF, PNG, JPEG) and writing TIFFs atomically (results and napari layers)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.files import missing_reason, new_temp_file, same_file
from napari_noise2inpaint.images.memory import check_fits, check_tiff_header, fits_in_memory

TIFF_SUFFIXES = (".tif", ".tiff")
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGEJ_ORDER = "TZCYX"
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)
IMAGEJ_UNITS = {"micrometer": "micron", "nanometer": "nm", "millimeter": "mm"}
#: Pixel sizes a TIFF resolution tag (a ratio of 32-bit integers) can hold.
MIN_PIXEL_SIZE, MAX_PIXEL_SIZE = 1e-9, 1e9
TOO_LARGE_HINT = "; denoise it chunk by chunk instead (--out NAME.zarr, or denoise_lazy)"
#: What image libraries raise for damaged files.
READ_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError, zlib.error)
# Pillow modes converted before reading: palette and bilevel images to plain RGB(A)/gray.
_PILLOW_CONVERT = {"1": "L", "P": "RGBA", "PA": "RGBA", "LA": "L", "CMYK": "RGB", "YCbCr": "RGB"}


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a TIFF (all pages of a stack), PNG or JPEG file into a numpy array.

    Parameters
    ----------
    path : str or path-like
        File ending in .tif, .tiff, .png, .jpg or .jpeg (case-insensitive).

    Returns
    -------
    numpy.ndarray
        The pixels in their stored dtype: ``(H, W)`` for grayscale, ``(H, W, 3)`` or
        ``(H, W, 4)`` for RGB(A), and the full array of a multi-page TIFF stack.

    Raises
    ------
    InputError
        The file does not exist, has an unsupported extension, or cannot be decoded.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TIFF_SUFFIXES + PILLOW_SUFFIXES:
        supported = ", ".join(TIFF_SUFFIXES + PILLOW_SUFFIXES)
        raise InputError(f"{path} has an unsupported extension; use one of {supported}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an image file.")
    if not path.is_file():
        raise InputError(f"Image file {path} {missing_reason(path)}.")
    try:
        return _read_tiff(path) if suffix in TIFF_SUFFIXES else _read_pillow(path)
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, *READ_ERRORS) as error:
        raise read_error(path, error) from None


def read_error(path: str | os.PathLike, error: BaseException) -> InputError:
    """Return the one-sentence error for a file that a reader library failed to decode."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InputError(f"Cannot read {path}: {reason.rstrip('.')}.")


def _read_tiff(path: Path) -> np.ndarray:
    with tifffile.TiffFile(path) as tif:
        series = tif.series
        first = series[0]
        if len(series) > 1 and all(
            s.shape == first.shape and s.dtype == first.dtype for s in series
        ):  # pages written one by one, each its own series: stack them
            check_fits(series, path, TOO_LARGE_HINT)
            return np.stack([s.asarray() for s in series])
        check_fits([first], path, TOO_LARGE_HINT)
        return np.asarray(first.asarray())


def read_series(series, path: str | os.PathLike) -> np.ndarray | None:
    """Return the pixels of one TIFF series, or None when they do not fit in memory.

    Raises
    ------
    InputError
        The header declares more uncompressed pixels than the file holds.
    """
    return series.asarray() if fits_in_memory(check_tiff_header(series, path)) else None


def _read_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        if image.mode == "P" and "transparency" not in image.info:
            image = image.convert("RGB")
        elif image.mode in _PILLOW_CONVERT:
            image = image.convert(_PILLOW_CONVERT[image.mode])
        return np.array(image)


def write_tiff(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    scale: Sequence[float] | None = None,
    axes: str | None = None,
    source: str | os.PathLike | None = None,
    dtype: np.dtype | type | None = np.float32,
    unit: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Write ``array`` as a TIFF, atomically (no half-written file on failure).

    The one TIFF writer of the package (command line and napari). The file is
    ImageJ-compatible (hyperstack metadata) when the axes allow it, that is when they are an
    ordered subset of TZCYX, and the dtype is uint8, uint16 or float32; otherwise a plain
    tifffile "shaped" TIFF is written that reads back with the same shape, scale and labels.

    Parameters
    ----------
    path : str or path-like
        Destination file; its folder must exist.
    array : array_like
        Image data, at least 2D.
    scale : sequence of float, optional
        Pixel size along every axis but an RGB(A) sample axis S (as napari's layer scale);
        Y and X become the TIFF resolution, Z the ImageJ slice spacing and T its frame
        interval.
    axes : str, optional
        One letter per axis, e.g. "ZYX"; guessed from the shape when omitted (a trailing
        axis of size 3 or 4 on 3D data is taken as channels of an RGB(A) image, "S").
    source : str or path-like, optional
        The input file the data came from; writing over it is refused.
    dtype : numpy dtype or None
        Data type written (float32 by default, for results); None keeps the array's.
    unit : str, optional
        Unit of the spatial pixel sizes (e.g. "micrometer"), stored for ImageJ.
    labels : sequence of str, optional
        Axis names (as napari's ``axis_labels``), stored in plain TIFFs.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Bad shape, axes or scale, missing folder, or ``path`` is the ``source`` file.
    """
    path = Path(path)
    data = np.ascontiguousarray(array, dtype=dtype)
    if source is not None and same_file(path, source):
        raise InputError(f"Refusing to overwrite the input image {source}; choose another --out.")
    check_target(path)
    options = _tiff_options(data, axes, scale, unit, labels)
    tmp = new_temp_file(path)
    try:
        tifffile.imwrite(tmp, data, **options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_target(path: Path) -> None:
    """Refuse, in one sentence, an output path that cannot be written as a file.

    Raises
    ------
    InputError
        Its folder is missing or not writable, or the path is a folder.
    """
    if not path.parent.is_dir():
        raise InputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    if path.is_dir():
        raise InputError(f"Cannot write {path}: it is a folder; give a file name.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write {path}: folder {path.parent} is not writable.")


def guess_axes(shape: Sequence[int]) -> str:
    """Axis letters for an array shape: YX, ZYX, TZYX, TZCYX, or YXS for 3D RGB(A).

    Parameters
    ----------
    shape : sequence of int
        Array shape, 2 to 5 dimensions (more dimensions get Q letters in front).

    Returns
    -------
    str
        One letter per axis.
    """
    if len(shape) == 3 and shape[-1] in (3, 4) and min(shape[:2]) > 4:
        return "YXS"
    known = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}
    return known.get(len(shape), "Q" * (len(shape) - 5) + "TZCYX")


def _tiff_options(data: np.ndarray, axes, scale, unit, labels) -> dict:
    if data.ndim < 2 or data.size == 0:
        raise InputError(f"Cannot write an image of shape {data.shape} as TIFF.")
    axes = (axes or guess_axes(data.shape)).upper()
    if len(axes) != data.ndim or len(set(axes)) != len(axes):
        raise InputError(f"axes {axes!r} do not match an array of shape {data.shape}.")
    imagej = (
        axes.endswith("YX")
        and "".join(a for a in IMAGEJ_ORDER if a in axes) == axes
        and data.dtype.type in IMAGEJ_DTYPES
    )
    metadata: dict = {"axes": axes}
    options: dict = {"photometric": "minisblack", "metadata": metadata}
    if imagej:
        options["imagej"] = True
        if unit:
            metadata["unit"] = IMAGEJ_UNITS.get(unit, unit)
    elif axes[-1] not in "YX" and data.shape[-1] <= 4:
        options["planarconfig"] = "contig"
    if labels is not None and not imagej:
        metadata["axis_labels"] = [str(label) for label in labels]
    if scale is not None:
        _add_scale(options, axes.replace("S", ""), list(scale), imagej)
    return options


def _add_scale(options: dict, axes: str, scale: list, imagej: bool) -> None:
    if len(scale) != len(axes) or not {"Y", "X"} <= set(axes):
        raise InputError(f"scale must have {len(axes)} positive values, got {scale}.")
    if not all(storable_pixel_size(size) for size in scale):
        raise InputError(
            f"A TIFF stores pixel sizes from {MIN_PIXEL_SIZE:g} to {MAX_PIXEL_SIZE:g}, "
            f"got scale {scale}."
        )
    scale = [float(size) for size in scale]
    options["resolution"] = (1 / scale[axes.index("X")], 1 / scale[axes.index("Y")])
    metadata = options["metadata"]
    if not imagej:
        metadata["scale"] = scale
    for axis, key in (("Z", "spacing"), ("T", "finterval")):
        if imagej and axis in axes:
            metadata[key] = scale[axes.index(axis)]


def storable_pixel_size(size) -> bool:
    """Whether ``size`` is a number that TIFF metadata can hold as a pixel size.

    Parameters
    ----------
    size : object
        A value from a layer's scale or a file's metadata.

    Returns
    -------
    bool
        True for a real number from ``MIN_PIXEL_SIZE`` to ``MAX_PIXEL_SIZE`` (so finite,
        positive and not a string).
    """
    if isinstance(size, (bool, str, bytes)):
        return False
    try:
        size = float(size)
    except (TypeError, ValueError, OverflowError):
        return False
    return MIN_PIXEL_SIZE <= size <= MAX_PIXEL_SIZE

"""Lazy access to large images (zarr, OME-Zarr, TIFF) and OME-Zarr (NGFF 0.4) output stores."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import tifffile
import zarr

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.files import missing_reason
from napari_noise2inpaint.images.memory import check_tiff_header

NGFF_VERSION = "0.4"
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass
class LazyImage:
    """A lazily read image with the axis names and pixel sizes its file declares.

    Attributes
    ----------
    data : dask.array.Array
        The pixels; nothing is read until a part is computed.
    axes : str or None
        One lower-case letter per axis (e.g. ``"zyx"``) when known.
    scale : list of float or None
        Pixel size per axis when known.
    """

    data: da.Array
    axes: str | None = None
    scale: list[float] | None = None
    closer: Callable[[], None] | None = None

    def close(self) -> None:
        """Release the file handles behind ``data`` (TIFF files stay open until then)."""
        if self.closer is not None:
            self.closer()

    def __enter__(self) -> LazyImage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_lazy(source) -> LazyImage:
    """Open a dask array, zarr array, zarr / OME-Zarr folder or TIFF file without reading it.

    Parameters
    ----------
    source : dask.array.Array, zarr.Array, numpy.ndarray, str or path-like
        The image or where it is stored.

    Returns
    -------
    LazyImage
        The lazy pixels and, for OME-Zarr, the declared axes and scale.

    Raises
    ------
    InputError
        The path does not exist or is neither a zarr store nor a TIFF file.
    """
    if isinstance(source, da.Array):
        return LazyImage(source)
    if isinstance(source, zarr.Array | np.ndarray):
        return LazyImage(da.from_array(source, chunks=getattr(source, "chunks", "auto")))
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path} {missing_reason(path)}.")
    if path.is_dir():
        return _open_zarr(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        return _open_tiff(path)
    raise InputError(f"{path} is neither a zarr store (folder) nor a TIFF file.")


def is_zarr_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a zarr store: a folder, or a name ending in ``.zarr``."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() == ".zarr"


def _open_zarr(path: Path) -> LazyImage:
    try:
        node = zarr.open(str(path), mode="r")
    except (FileNotFoundError, ValueError, KeyError, zarr.errors.NodeNotFoundError) as error:
        raise InputError(f"{path} is not a zarr store ({error}).") from None
    if isinstance(node, zarr.Array):
        return LazyImage(_dask(node, path))
    first, dataset = _first_dataset(dict(node.attrs), path)
    name = dataset["path"]
    try:
        array = node[name]
    except (KeyError, ValueError, zarr.errors.NodeNotFoundError):
        raise InputError(f"{path} names dataset {name!r} in 'multiscales', but has none.") from None
    if not isinstance(array, zarr.Array):
        raise InputError(f"{path}: the dataset {name!r} of 'multiscales' is a group, not an array.")
    data = _dask(array, path)
    axes = _axis_names(first, path)
    return LazyImage(data, axes, _scale_of(first, dataset, path, data.ndim))


def _first_dataset(attributes: dict, path: Path) -> tuple[dict, dict]:
    """Return the first multiscale image and its first dataset; refuse malformed metadata."""
    ome = attributes.get("ome")
    multiscales = attributes.get("multiscales") or (ome or {}).get("multiscales")
    if not multiscales:
        raise InputError(f"{path} is a zarr group without an OME-Zarr image (no 'multiscales').")
    first = multiscales[0] if isinstance(multiscales, list) else None
    datasets = first.get("datasets") if isinstance(first, dict) else None
    dataset = datasets[0] if isinstance(datasets, list) and datasets else None
    name = dataset.get("path") if isinstance(dataset, dict) else None
    if not isinstance(name, str) or not name or ".." in name.split("/") or name.startswith("/"):
        raise InputError(f"{path} has malformed OME-Zarr metadata: 'multiscales' names no dataset.")
    return first, dataset


def _dask(array: zarr.Array, path: Path) -> da.Array:
    if 0 in array.shape or array.ndim < 2:
        raise InputError(f"{path} holds an array of shape {array.shape}; an image needs 2 axes.")
    return da.from_zarr(array)


def _axis_names(multiscale: dict, path: Path) -> str | None:
    axes = multiscale.get("axes")
    if axes is None:
        return None
    items = axes if isinstance(axes, list) else [None]
    names = [axis.get("name") if isinstance(axis, dict) else axis for axis in items]
    if not all(isinstance(n, str) and n for n in names):
        raise InputError(f"{path} has malformed OME-Zarr metadata: 'axes' are not named.")
    return "".join(n[0].lower() for n in names) or None


def _scale_of(multiscale: dict, dataset: dict, path: Path, ndim: int) -> list[float] | None:
    scale = None
    try:
        for transforms in (
            dataset.get("coordinateTransformations"),
            multiscale.get("coordinateTransformations"),
        ):
            for transform in transforms or []:
                if transform.get("type") == "scale":
                    values = np.asarray(transform["scale"], dtype=float)
                    scale = values if scale is None else scale * values
    except (AttributeError, TypeError, ValueError, KeyError):
        scale = np.array([np.nan])
    if scale is not None and (
        scale.shape != (ndim,) or not np.isfinite(scale).all() or (scale <= 0).any()
    ):
        raise InputError(f"{path} has malformed OME-Zarr metadata: a scale is not {ndim} sizes.")
    return None if scale is None else scale.tolist()


def _open_tiff(path: Path) -> LazyImage:
    try:
        with tifffile.TiffFile(path) as tif:
            axes = tif.series[0].axes.lower()
            check_tiff_header(tif.series[0], path)  # chunks a lying header promises are absent
        store = tifffile.imread(path, aszarr=True)
    except (tifffile.TiffFileError, ValueError, OSError) as error:
        raise InputError(f"Cannot read {path} as TIFF ({error}).") from None
    data = da.from_zarr(zarr.open(store, mode="r"))
    return LazyImage(data, axes if set(axes) <= set(AXIS_TYPES) else None, None, store.close)


def default_axes(ndim: int, channel_axis: int | None = None) -> str:
    """Axis names for an image without any: ``yx``, ``zyx``, ``tzyx``, with ``c`` if given."""
    planes = ndim - (channel_axis is not None)
    names = list("tzyx"[-planes:] if planes <= 4 else "q" * (planes - 4) + "tzyx")
    if channel_axis is not None:
        names.insert(channel_axis, "c")
    return "".join(names)


def create_ome_zarr(
    path: str | os.PathLike,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    axes: str,
    scale: list[float] | None = None,
    name: str = "denoised",
    compressed: bool = True,
) -> zarr.Array:
    """Create an empty float32 OME-Zarr image (NGFF 0.4, one resolution level).

    Parameters
    ----------
    path : str or path-like
        Folder to create; it must not exist yet (no user data is ever overwritten).
    shape, chunks : tuple of int
        Array and chunk shapes.
    axes : str
        One letter per axis among ``t c z y x``.
    scale : list of float, optional
        Pixel size per axis (1 when not given).
    name : str
        Image name stored in the metadata.
    compressed : bool
        Compress chunks with zarr's default codec (Blosc LZ4), or store them raw.

    Returns
    -------
    zarr.Array
        The writable full-resolution array.
    """
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; choose a new output path.")
    if not path.parent.is_dir():
        raise InputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    group = zarr.open_group(str(path), mode="w-", zarr_format=2)
    codec = {} if compressed else {"compressors": None}
    array = group.create_array(
        "0", shape=shape, chunks=chunks, dtype="float32", fill_value=0, **codec
    )
    scale = [float(s) for s in scale] if scale is not None else [1.0] * len(shape)
    group.attrs["multiscales"] = [
        {
            "version": NGFF_VERSION,
            "name": name,
            "axes": [_axis(letter) for letter in axes],
            "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}
            ],
        }
    ]
    return array


def _axis(letter: str) -> dict:
    axis = {"name": letter}
    if letter in AXIS_TYPES:
        axis["type"] = AXIS_TYPES[letter]
    return axis

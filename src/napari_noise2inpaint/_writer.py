"""Write an Image layer to TIFF, in ImageJ format when possible, keeping its scale."""

from __future__ import annotations

import numpy as np

from napari_noise2inpaint.images.io import (
    MAX_PIXEL_SIZE,
    MIN_PIXEL_SIZE,
    storable_pixel_size,
    write_tiff,
)

_AXES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}


def write_image(path: str, data, meta: dict) -> list[str]:
    """Save one Image layer to ``path`` as TIFF with its pixel sizes, through ``io.write_tiff``.

    ImageJ hyperstack format is used for uint8, uint16 and float32 data of up to 5
    dimensions (axes ``YX``, ``ZYX``, ``TZYX`` or ``TZCYX``); other data are written as a
    plain TIFF whose JSON description holds the scale and axis labels. The layer's dtype is
    kept. A pixel size that a TIFF cannot hold (NaN, 0, below 1e-9 or above 1e9) is written
    as 1, with a note.

    Parameters
    ----------
    path : str
        Destination ending in ``.tif`` or ``.tiff``.
    data : array_like
        The layer's data.
    meta : dict
        The layer's attributes as napari passes them (``scale``, ``axis_labels``, ``units``...).

    Returns
    -------
    list of str
        The path written.
    """
    data = np.asarray(data)
    rgb = bool(meta.get("rgb"))
    planes = data.ndim - rgb
    axes = "Q" * (planes - 5) + _AXES[min(planes, 5)] if planes >= 2 else None
    if rgb and axes:
        axes += "S"
    units = meta.get("units")
    write_tiff(
        path,
        data,
        scale=_storable_scale(meta.get("scale") or [1.0] * planes),
        axes=axes,
        dtype=None,
        unit=str(units[-1]) if units else None,
        labels=meta.get("axis_labels") or None,
    )
    return [path]


def _storable_scale(scale) -> list:
    kept = [size if storable_pixel_size(size) else 1.0 for size in scale]
    if kept != list(scale):
        from napari.utils.notifications import show_info

        show_info(
            f"Pixel sizes {list(scale)} are not all from {MIN_PIXEL_SIZE:g} to "
            f"{MAX_PIXEL_SIZE:g}; wrote {kept} instead."
        )
    return kept

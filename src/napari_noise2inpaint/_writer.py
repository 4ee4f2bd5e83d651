"""Write an Image layer to TIFF, in ImageJ format when possible, keeping its scale."""

from __future__ import annotations

import numpy as np
import tifffile

_IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)
_IMAGEJ_AXES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}
_IMAGEJ_UNITS = {"micrometer": "micron", "nanometer": "nm", "millimeter": "mm"}


def write_image(path: str, data, meta: dict) -> list[str]:
    """Save one Image layer to ``path`` as TIFF with its pixel sizes.

    ImageJ hyperstack format is used for uint8, uint16 and float32 data of up to 5
    dimensions (axes ``YX``, ``ZYX``, ``TZYX`` or ``TZCYX``); other data are written as a
    plain TIFF whose JSON description holds the scale and axis labels.

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
    scale = [float(s) for s in meta.get("scale") or [1.0] * data.ndim]
    resolution = (1 / scale[-1], 1 / scale[-2])
    if data.dtype.type in _IMAGEJ_DTYPES and data.ndim in _IMAGEJ_AXES and not meta.get("rgb"):
        axes = _IMAGEJ_AXES[data.ndim]
        metadata = {"axes": axes}
        if "Z" in axes:
            metadata["spacing"] = scale[axes.index("Z")]
        if "T" in axes:
            metadata["finterval"] = scale[axes.index("T")]
        unit = str((meta.get("units") or ["pixel"])[-1])
        metadata["unit"] = _IMAGEJ_UNITS.get(unit, unit)
        tifffile.imwrite(path, data, imagej=True, resolution=resolution, metadata=metadata)
    else:
        labels = [str(label) for label in meta.get("axis_labels") or ()]
        tifffile.imwrite(
            path,
            data,
            photometric="minisblack",
            resolution=resolution,
            metadata={"scale": scale, "axis_labels": labels},
        )
    return [path]

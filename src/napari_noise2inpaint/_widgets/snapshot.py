"""A private copy of an Image layer, taken on the GUI thread, and how results are placed."""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
from napari.layers import Image

from napari_noise2inpaint import InputError

#: Lazy layers (dask, zarr) above this size (as float32) are denoised chunk by chunk.
LAZY_BYTES = 512 * 2**20


@dataclass(frozen=True)
class LayerSnapshot:
    """A private copy of an Image layer's data and placement, taken on the GUI thread.

    Workers only ever see this copy, so the input layer is never read or changed off-thread.
    """

    name: str
    data: np.ndarray
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    axis_labels: tuple[str, ...]
    units: tuple
    contrast: tuple[float, float] = (0.0, 1.0)

    @property
    def lazy(self) -> bool:
        """Whether the data is a lazy (dask) array, read chunk by chunk instead of copied."""
        return isinstance(self.data, da.Array)

    @classmethod
    def of(cls, layer) -> LayerSnapshot:
        """Copy ``layer``; raise InputError when it is not a usable Image layer."""
        if layer is None:
            raise InputError("No image selected: add or open an Image layer first.")
        if not isinstance(layer, Image):
            raise InputError(f"Layer {layer.name!r} is not an Image layer; pick an Image layer.")
        if layer.rgb:
            raise InputError(
                f"Layer {layer.name!r} is RGB; split its colours into a channel axis first."
            )
        data = layer.data[0] if layer.multiscale else layer.data
        if 0 in data.shape:
            raise InputError(f"Layer {layer.name!r} is empty (shape {tuple(data.shape)}).")
        big = not isinstance(data, np.ndarray) and data.size * 4 > LAZY_BYTES
        return cls(
            name=layer.name,
            # a large lazy array (dask, zarr) is immutable and read chunk by chunk, not copied
            data=da.asarray(data) if big else np.array(data, copy=True),
            scale=tuple(layer.scale),
            translate=tuple(layer.translate),
            axis_labels=tuple(layer.axis_labels),
            units=tuple(layer.units),
            contrast=tuple(float(v) for v in layer.contrast_limits),
        )

    def check_not_constant(self) -> None:
        """Raise InputError when every pixel has the same value (there is no noise to learn).

        A lazy layer is not read for this check; the engine refuses it later if need be.
        """
        if self.lazy:
            return
        low, high = np.nanmin(self.data), np.nanmax(self.data)
        if low == high:
            raise InputError(
                f"Layer {self.name!r} is constant (every pixel is {float(low):g}): "
                "there is nothing to denoise."
            )

    def layer_kwargs(self, suffix: str, **extra) -> dict:
        """Keyword arguments of ``viewer.add_image`` for a result placed like the input."""
        return {
            "name": f"{self.name} ({suffix})",
            "scale": self.scale,
            "translate": self.translate,
            "axis_labels": self.axis_labels,
            "units": self.units,
            **extra,
        }


def contrast_limits(image: np.ndarray) -> tuple[float, float]:
    """Display range from the 1st and 99.8th percentiles (never an empty range)."""
    sample = image.ravel()[:: max(1, image.size // 4_000_000)]
    low, high = (float(v) for v in np.percentile(sample, (1, 99.8)))
    return (low, high) if high > low else (low, low + 1.0)

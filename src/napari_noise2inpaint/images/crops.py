"""Training data from images too large for memory: random crops read lazily."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import torch

from napari_noise2inpaint.errors import InputError

DEFAULT_MAX_PIXELS = 32 * 1024**2
CROP_SIDE = 512


def training_crops(
    image,
    rng: torch.Generator,
    *,
    spatial_dims: int = 2,
    crop_depth: int = 32,
    max_pixels: int | None = None,
) -> list[np.ndarray]:
    """Read random crops of a large (lazy) image to train on, at most ``max_pixels`` in all.

    An image that fits in ``max_pixels`` is read whole. Otherwise crops of ``512 x 512``
    pixels (2D planes) or ``crop_depth x 512 x 512`` voxels (3D) are read from random
    positions; only those crops are ever loaded.

    Parameters
    ----------
    image : dask.array.Array, zarr.Array or numpy.ndarray
        The image; leading axes (time, channels, planes) are sampled too.
    rng : torch.Generator
        Chooses the crop positions.
    spatial_dims : {2, 3}
        Number of trailing spatial axes a crop keeps together.
    crop_depth : int
        Z extent of 3D crops.
    max_pixels : int, optional
        Budget of pixels to load; ``DEFAULT_MAX_PIXELS`` when None.

    Returns
    -------
    list of numpy.ndarray
        Crops with ``spatial_dims`` axes (a list accepted by :func:`napari_noise2inpaint.train`).
    """
    max_pixels = max_pixels or DEFAULT_MAX_PIXELS
    image = image if isinstance(image, da.Array) else da.from_array(image, chunks="auto")
    if image.ndim < spatial_dims:
        raise InputError(f"{spatial_dims}D training needs at least {spatial_dims} axes.")
    if image.size <= max_pixels:
        planes = np.asarray(image.compute()).reshape(-1, *image.shape[-spatial_dims:])
        return list(planes)
    lead = image.shape[: image.ndim - spatial_dims]
    spatial = image.shape[image.ndim - spatial_dims :]
    sides = (crop_depth, CROP_SIDE, CROP_SIDE)[-spatial_dims:]
    crop = tuple(min(side, length) for side, length in zip(sides, spatial, strict=True))
    count = max(1, max_pixels // math.prod(crop))
    crops = []
    for _ in range(count):
        index = tuple(_randint(n, rng) for n in lead)
        starts = [
            _randint(length - side + 1, rng) for length, side in zip(spatial, crop, strict=True)
        ]
        window = tuple(slice(s, s + side) for s, side in zip(starts, crop, strict=True))
        crops.append(np.asarray(image[(*index, *window)].compute()))
    return crops


def _randint(high: int, rng: torch.Generator) -> int:
    return int(torch.randint(0, high, (1,), generator=rng).item())


def crops_of_lazy(images, config) -> tuple[object, list[str]]:
    """Replace large lazy arrays (dask, zarr) among ``images`` by random training crops.

    Parameters
    ----------
    images : array_like or list of array_like
        Training images as given to :func:`napari_noise2inpaint.train`.
    config : Noise2InpaintConfig
        Supplies the seed, the spatial dimensions and the patch depth.

    Returns
    -------
    tuple
        The images (unchanged when none is large and lazy) and notes for the user.
    """
    items = list(images) if isinstance(images, list | tuple) else [images]
    lazy = [_is_large_lazy(item) for item in items]
    if not any(lazy):
        return images, []
    if config.channel_axis is not None or config.method == "supervised":
        raise InputError(
            "Large lazy images train on random crops, which needs single-channel, "
            "self-supervised training; load the data into memory instead."
        )
    rng = torch.Generator().manual_seed(config.seed)
    out: list = []
    for item, is_lazy in zip(items, lazy, strict=True):
        if not is_lazy:
            out.append(item)
            continue
        out.extend(
            training_crops(
                item, rng, spatial_dims=config.spatial_dims, crop_depth=2 * config.patch_depth
            )
        )
    note = f"Large lazy data: training on {len(out)} random crops ({DEFAULT_MAX_PIXELS} pixels)."
    return out, [note]


def _is_large_lazy(item) -> bool:
    """Whether ``item`` is an array-like other than numpy with more than the crop budget."""
    if isinstance(item, np.ndarray) or not hasattr(item, "shape") or not hasattr(item, "dtype"):
        return False
    return math.prod(item.shape) > DEFAULT_MAX_PIXELS

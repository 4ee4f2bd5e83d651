"""Tiled, batched prediction of whole images, stacks and 3D volumes with a trained model."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from napari_noise2inpaint.engine import per_image
from napari_noise2inpaint.engine.data import (
    check_array,
    resolve_channel_axis,
    to_planes,
    volume_depth,
)
from napari_noise2inpaint.engine.denoise_options import check_denoise_options
from napari_noise2inpaint.engine.devices import autocast, resolve_device
from napari_noise2inpaint.engine.events import DenoiseProgress, run_to_end
from napari_noise2inpaint.engine.masks import neighbour_values, random_lambda
from napari_noise2inpaint.engine.unet import fold_batch_norms, memory_format, reflect_pad
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.memory import check_working_memory
from napari_noise2inpaint.noise import noise_class
from napari_noise2inpaint.noise.estimation import MAX_ESTIMATE_PLANES, estimate_sigma
from napari_noise2inpaint.prior.choice import pick_network

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts
    from napari_noise2inpaint.noise import NoiseModel

DEFAULT_TILE = {"cpu": 1024, "cuda": 2048, "mps": 1024}
LAZY_HINT = "; denoise it chunk by chunk with denoise_lazy or iter_denoise_chunks"
# 3D models: tile depth, and voxels per tile, which set the Y-X side (large for thin stacks)
DEFAULT_TILE_DEPTH = {"cpu": 64, "cuda": 128, "mps": 64}
VOXELS_PER_TILE = {"cpu": 2**22, "cuda": 2**25, "mps": 2**22}
PIXELS_PER_BATCH = {"cpu": 1024**2, "cuda": 16 * 1024**2, "mps": 4 * 1024**2}


@dataclass
class _TileWindow:
    """Where a tile is read (source), which part of its result is kept, and where it goes."""

    source: tuple[slice, ...]
    keep: tuple[slice, ...]
    target: tuple[slice, ...]


def iter_denoise(
    model: ModelParts,
    image,
    *,
    channel_axis: int | None = None,
    output: str | None = None,
    tile_size: int | None = None,
    overlap: int | None = None,
    device: str = "auto",
    noise_sigma: float | str | None = None,
    tile_depth: int | None = None,
    precision: str | None = None,
    noise: NoiseModel | None = None,
) -> Generator[DenoiseProgress, None, np.ndarray]:
    """Denoise an image or stack, yielding :class:`DenoiseProgress` after each batch of tiles.

    Parameters
    ----------
    model : TrainedModel
        A trained model (see :func:`napari_noise2inpaint.train` or ``load_model``).
    image : array_like
        2D image or stack (leading axes are planes); any integer or float dtype. For a 3D model
        (``spatial_dims=3``) the last three non-channel axes are a ZYX volume and leading
        axes are separate volumes.
    channel_axis : int, optional
        Axis holding channels, each denoised with its own normalisation.
    output : {"z", "x", "masks"}, optional
        Test-time output; defaults to the model's ``inference_output``.
    tile_size : int, optional
        Tile side in Y and X; planes larger than this are split into overlapping tiles. For 3D
        models the default fits about 4 million voxels per tile on a CPU (32 million on
        CUDA) with the tile depth.
    overlap : int, optional
        Context pixels around each tile; defaults to the network's receptive radius, which
        makes tiled and untiled results agree.
    device : str
        "auto", "cpu", "cuda", "mps", or "keep" to use the network where it is.
    noise_sigma : float or "estimate", optional
        Noise level of ``image`` (intensity units) when it differs from the training data's:
        mu is rescaled by ``(noise_sigma / trained sigma)^2`` (white Gaussian models only).
        "estimate" measures it from the image. For models that estimate each image's noise
        (the built-in prior), white Gaussian noise of this std replaces the estimate.
    tile_depth : int, optional
        Tile side in Z for 3D models (default 64 on a CPU, 128 on CUDA).
    precision : {"auto", "float32", "bfloat16"}, optional
        Arithmetic of the network; defaults to the model's ``precision`` (see
        :class:`Noise2InpaintConfig`).
    noise : NoiseModel, optional
        The image's noise (intensity units, see :mod:`napari_noise2inpaint.noise`), for
        models that estimate each image's noise (the built-in prior): known camera gain and
        offset, or a correlation kernel measured on a background region, instead of the
        estimate from the image.

    Returns
    -------
    numpy.ndarray
        float32 array of the input's shape, in the input's intensity scale.
    """
    check_denoise_options(**locals())  # the arguments, before anything else is assigned
    image = check_array(_detached(image))
    check_working_memory(8 * image.size, "Denoising this image", LAZY_HINT)  # 2 float32 copies
    model.config.replace()  # checks a config changed after loading
    model = model.with_precision(precision)
    axis, _ = resolve_channel_axis(image, channel_axis)
    planes, layout = to_planes(image, axis)
    model, noise = pick_network(
        model, lambda: planes.reshape(-1, *planes.shape[-2:])[0], noise, noise_sigma
    )
    means, stds = per_image.statistics(model, planes)
    noises = per_image.plane_noises(model, planes, means, stds, noise, noise_sigma)
    mu_scale = 1.0 if noises is not None else _mu_scale(model, planes, noise_sigma)
    planes -= means
    planes /= stds
    home = next(model.network.parameters()).device
    target = home if device == "keep" else resolve_device(device)
    flat, tiles = _flat_and_tiles(model, planes, image.shape, axis, target, tile_size, tile_depth)
    result = yield from _denoise_on(model, flat, output, tiles, overlap, target, mu_scale, noises)
    result = result.reshape(planes.shape)
    result *= stds
    result += means
    if not np.isfinite(result).all():
        raise InputError(
            "The result has NaN or infinite values: the noise settings are far from this "
            "image's (check the noise level or model)."
        )
    return layout.restore(result)


def _detached(image):
    """Return a torch tensor as plain CPU data (no autograd graph), anything else as it is."""
    return image.detach().cpu() if isinstance(image, torch.Tensor) else image


def denoise(model: ModelParts, image, **kwargs) -> np.ndarray:
    """Denoise and return the result; same arguments as :func:`iter_denoise`."""
    return run_to_end(iter_denoise(model, image, **kwargs))


def _flat_and_tiles(model, planes, shape, axis, device, tile_size, tile_depth):
    """Return planes as ``(N, H, W)`` (volumes as ``(N, D, H, W)``) and the tile shape."""
    if model.config.spatial_dims == 3:
        flat = planes.reshape(-1, volume_depth(shape, axis), *planes.shape[-2:])
        depth = tile_depth or DEFAULT_TILE_DEPTH[device.type]
        side = tile_size or math.isqrt(VOXELS_PER_TILE[device.type] // min(depth, flat.shape[1]))
        return flat, (depth, side, side)
    return planes.reshape(-1, *planes.shape[-2:]), (tile_size or DEFAULT_TILE[device.type],) * 2


def _denoise_on(model, flat, output, tiles, overlap, device, mu_scale, noises):
    """Denoise on ``device`` with an inference copy of the network, halving tiles on CUDA OOM.

    The copy has its batch norms folded into the convolutions (:func:`fold_batch_norms`); the
    model's own network stays where it is, in the mode it is in.
    """
    folded = fold_batch_norms(model.network)
    folded.to(device, memory_format=memory_format(model.config.spatial_dims))
    model = dataclasses.replace(model, network=folded)
    while True:
        try:
            return (
                yield from _denoise_planes(
                    model, flat, output, tiles, overlap, device, mu_scale, noises
                )
            )
        except torch.cuda.OutOfMemoryError:
            if tiles[-1] <= 128:
                raise
            tiles = tuple(max(1, side // 2) for side in tiles)
            torch.cuda.empty_cache()


def _mu_scale(model: ModelParts, planes: np.ndarray, noise_sigma) -> float:
    if noise_sigma is None:
        return 1.0
    trained = model.config.noise_sigma
    white = noise_class(model.config.noise_model).white
    if not white or not model.network.unrolled or not trained:
        raise InputError("Noise-level rescaling needs an N2I model with white Gaussian noise.")
    if noise_sigma == "estimate":
        noise_sigma = estimate_sigma(list(planes[0][:MAX_ESTIMATE_PLANES]))
    return (float(noise_sigma) / trained) ** 2


def _denoise_planes(model, flat, output, tiles, overlap, device, mu_scale, noises):
    """Denoise ``(N, H, W)`` planes or ``(N, D, H, W)`` volumes tile by tile."""
    config = model.config
    output = output or config.inference_output
    multiple = 2**config.depth
    tiles = tuple(max(multiple, tile - tile % multiple) for tile in tiles)
    context = overlap if overlap is not None else model.network.receptive_radius()
    context = _round_up(context, multiple)
    result = np.empty_like(flat)
    windows = list(_tiles(flat.shape[1:], tiles, context, multiple))
    total = len(windows) * flat.shape[0]
    batch = max(1, PIXELS_PER_BATCH[device.type] // math.prod(tiles))
    rng = torch.Generator(device).manual_seed(config.seed)
    done = 0
    for index, plane in enumerate(flat):
        padded = _pad(torch.from_numpy(plane).to(device), multiple)
        guides = _guides(model, padded, output, rng)
        for start in range(0, len(windows), batch):
            chunk = windows[start : start + batch]
            noise = None if noises is None else noises[index]
            _run_chunk(model, padded, guides, chunk, result[index], output, (mu_scale, noise))
            done += len(chunk)
            yield DenoiseProgress(done, total)
    return result


def _tiles(shape, tiles: tuple[int, ...], context: int, multiple: int) -> Iterator[_TileWindow]:
    spans = [
        _spans(real + -real % multiple, real, tile, context, multiple)
        for real, tile in zip(shape, tiles, strict=True)
    ]
    for combination in itertools.product(*spans):
        yield _TileWindow(*(tuple(parts) for parts in zip(*combination, strict=True)))


def _spans(size: int, real: int, tile: int, context: int, multiple: int):
    """Source window, kept part (relative) and destination along one axis.

    The kept parts are as equal as the multiple allows and the windows are no wider than
    they need be: a 2048-pixel axis with 1024-pixel tiles and 48 pixels of context is read
    as three 780-pixel windows (not three of 1024), 1.14x the axis instead of 1.5x.
    """
    if size <= tile:
        return [(slice(0, size), slice(0, real), slice(0, real))]
    widest = max(tile - 2 * context, tile // 4)
    widest = max(multiple, widest - widest % multiple)
    count = -(-real // widest)
    step = _round_up(-(-real // count), multiple)
    tile = min(tile, step + 2 * context)
    spans = []
    for begin in range(0, real, step):
        end = min(begin + step, real)
        lo = max(0, begin - context)
        hi = min(size, max(begin + step + context, lo + tile))
        lo = max(0, min(lo, hi - tile))
        spans.append((slice(lo, hi), slice(begin - lo, end - lo), slice(begin, end)))
    return spans


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _pad(plane: torch.Tensor, multiple: int) -> torch.Tensor:
    """Return a plane or volume as a ``(1, 1, ...)`` batch padded to multiples of ``multiple``."""
    return reflect_pad(plane[None, None], [-size % multiple for size in plane.shape])


def _guides(model, padded, output, rng):
    """For mask averaging: the data-fidelity masks and starting images of the whole plane."""
    if output != "masks" or not model.network.unrolled:
        return []
    config = model.config
    guides = []
    for _ in range(config.inference_masks):
        holes = random_lambda(padded.shape, 1 / config.n_sets, rng)  # as in training
        fill = neighbour_values(padded, rng) if config.hole_fill == "neighbour" else 0.0
        guides.append((~holes, torch.where(holes, fill, padded)))
    return guides


@torch.no_grad()
def _run_chunk(model, padded, guides, chunk: list[_TileWindow], out, output: str, dc) -> None:
    """Denoise tiles of one size together; ``dc`` is ``(mu_scale, noise model or None)``."""
    if len({_size(window) for window in chunk}) > 1:
        for window in chunk:
            _run_chunk(model, padded, guides, [window], out, output, dc)
        return
    mu_scale, noise = dc
    inputs = torch.cat([padded[(..., *window.source)] for window in chunk])
    inputs = inputs.contiguous(memory_format=memory_format(model.config.spatial_dims))
    with autocast(padded.device, model.config.precision):
        if guides:
            pred = sum(
                model.network(
                    inputs,
                    torch.cat([theta[(..., *j.source)] for j in chunk]),
                    torch.cat([x0[(..., *j.source)] for j in chunk]),
                    mu_scale,
                    noise,
                )[0].float()
                for theta, x0 in guides
            ) / len(guides)
        else:
            x, z = model.network(inputs, mu_scale=mu_scale, noise=noise)
            pred = z if output == "z" else x
    pred = pred.float().cpu().numpy()
    for window, tile in zip(chunk, pred, strict=True):
        out[window.target] = tile[0][window.keep]


def _size(window: _TileWindow) -> tuple[int, ...]:
    return tuple(s.stop - s.start for s in window.source)

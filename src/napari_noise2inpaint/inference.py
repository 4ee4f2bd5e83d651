"""Tiled, batched prediction of whole images and stacks with a trained model."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .data import broadcast_statistics, check_array, normalise, resolve_channel_axis, to_planes
from .errors import InputError
from .events import DenoiseProgress, run_to_end
from .masks import neighbour_values, random_lambda
from .model import TrainedModel, autocast, resolve_device
from .noise_estimation import MAX_ESTIMATE_PLANES, estimate_sigma

DEFAULT_TILE = {"cpu": 1024, "cuda": 2048, "mps": 1024}
PIXELS_PER_BATCH = {"cpu": 1024**2, "cuda": 16 * 1024**2, "mps": 4 * 1024**2}


@dataclass
class _Job:
    source: tuple[slice, slice]
    keep: tuple[slice, slice]
    target: tuple[slice, slice]


def iter_denoise(
    model: TrainedModel,
    image,
    *,
    channel_axis: int | None = None,
    output: str | None = None,
    tile_size: int | None = None,
    overlap: int | None = None,
    device: str = "auto",
    noise_sigma: float | str | None = None,
) -> Generator[DenoiseProgress, None, np.ndarray]:
    """Denoise an image or stack, yielding :class:`DenoiseProgress` after each batch of tiles.

    Parameters
    ----------
    model : TrainedModel
        A trained model (see :func:`napari_noise2inpaint.train` or ``load_model``).
    image : array_like
        2D image or stack (leading axes are planes); any integer or float dtype.
    channel_axis : int, optional
        Axis holding channels, each denoised with its own normalisation.
    output : {"z", "x", "masks"}, optional
        Test-time output; defaults to the model's ``inference_output``.
    tile_size : int, optional
        Tile side; planes larger than this are split into overlapping tiles.
    overlap : int, optional
        Context pixels around each tile; defaults to the network's receptive radius, which
        makes tiled and untiled results agree.
    device : str
        "auto", "cpu", "cuda", "mps", or "keep" to use the network where it is.
    noise_sigma : float or "estimate", optional
        Noise level of ``image`` (intensity units) when it differs from the training data's:
        mu is rescaled by ``(noise_sigma / trained sigma)^2`` (white Gaussian models only).
        "estimate" measures it from the image.

    Returns
    -------
    numpy.ndarray
        float32 array of the input's shape, in the input's intensity scale.
    """
    image = check_array(image)
    axis, _ = resolve_channel_axis(image, channel_axis)
    planes, layout = to_planes(image, axis)
    means, stds = broadcast_statistics(model.means, model.stds, planes.shape[0])
    mu_scale = _mu_scale(model, planes, noise_sigma)
    normalise(planes, means, stds)
    net = model.network
    home = next(net.parameters()).device
    target = home if device == "keep" else resolve_device(device)
    tile = tile_size or DEFAULT_TILE[target.type]
    flat = planes.reshape(-1, *planes.shape[-2:])
    net.to(target, memory_format=torch.channels_last).eval()
    try:
        while True:
            try:
                result = yield from _denoise_planes(
                    model, flat, output, tile, overlap, target, mu_scale
                )
                break
            except torch.cuda.OutOfMemoryError:
                if tile <= 128:
                    raise
                tile //= 2
                torch.cuda.empty_cache()
    finally:
        net.to(home)
    result = result.reshape(planes.shape)
    for channel, mean, std in zip(result, means, stds, strict=True):
        channel *= std
        channel += mean
    return layout.restore(result)


def denoise(model: TrainedModel, image, **kwargs) -> np.ndarray:
    """Denoise and return the result; same arguments as :func:`iter_denoise`."""
    return run_to_end(iter_denoise(model, image, **kwargs))


def _mu_scale(model: TrainedModel, planes: np.ndarray, noise_sigma) -> float:
    if noise_sigma is None:
        return 1.0
    trained = model.config.noise_sigma
    if model.config.noise_model != "gaussian" or not model.network.unrolled or not trained:
        raise InputError("Noise-level rescaling needs an N2I model with white Gaussian noise.")
    if noise_sigma == "estimate":
        noise_sigma = estimate_sigma(list(planes[0][:MAX_ESTIMATE_PLANES]))
    return (float(noise_sigma) / trained) ** 2


def _denoise_planes(model, flat, output, tile, overlap, device, mu_scale):
    config = model.config
    output = output or config.inference_output
    multiple = 2**config.depth
    tile = max(multiple, tile - tile % multiple)
    context = overlap if overlap is not None else model.network.receptive_radius()
    context = -(-context // multiple) * multiple
    result = np.empty_like(flat)
    jobs = list(_tiles(flat.shape[-2:], tile, context, multiple))
    total = len(jobs) * flat.shape[0]
    batch = max(1, PIXELS_PER_BATCH[device.type] // (tile * tile))
    rng = torch.Generator(device).manual_seed(config.seed)
    done = 0
    for index, plane in enumerate(flat):
        padded = _pad(torch.from_numpy(plane).to(device), multiple)
        guides = _guides(model, padded, output, rng)
        for start in range(0, len(jobs), batch):
            chunk = jobs[start : start + batch]
            _run_chunk(model, padded, guides, chunk, result[index], output, mu_scale)
            done += len(chunk)
            yield DenoiseProgress(done, total)
    return result


def _tiles(shape, tile: int, context: int, multiple: int) -> Iterator[_Job]:
    height, width = shape
    padded = (height + -height % multiple, width + -width % multiple)
    spans = [
        _spans(size, real, tile, context, multiple)
        for size, real in zip(padded, shape, strict=True)
    ]
    for src_y, keep_y, dst_y in spans[0]:
        for src_x, keep_x, dst_x in spans[1]:
            yield _Job((src_y, src_x), (keep_y, keep_x), (dst_y, dst_x))


def _spans(size: int, real: int, tile: int, context: int, multiple: int):
    """Source window, kept part (relative) and destination along one axis."""
    if size <= tile:
        return [(slice(0, size), slice(0, real), slice(0, real))]
    step = max(tile - 2 * context, tile // 4)
    step -= step % multiple
    spans = []
    for begin in range(0, real, step):
        end = min(begin + step, real)
        lo = max(0, begin - context)
        hi = min(size, max(begin + step + context, lo + tile))
        lo = max(0, min(lo, hi - tile))
        spans.append((slice(lo, hi), slice(begin - lo, end - lo), slice(begin, end)))
    return spans


def _pad(plane: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = plane.shape
    pad_h, pad_w = -h % multiple, -w % multiple
    batch = plane[None, None]
    if pad_h or pad_w:
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        batch = F.pad(batch, (0, pad_w, 0, pad_h), mode=mode)
    return batch


def _guides(model, padded, output, rng):
    """For mask averaging: the data-fidelity masks and starting images of the whole plane."""
    if output != "masks" or not model.network.unrolled:
        return []
    config = model.config
    guides = []
    for _ in range(config.inference_masks):
        holes = random_lambda(padded.shape, config.rho, rng)
        fill = neighbour_values(padded, rng) if config.hole_fill == "neighbour" else 0.0
        guides.append((~holes, torch.where(holes, fill, padded)))
    return guides


@torch.no_grad()
def _run_chunk(model, padded, guides, chunk: list[_Job], out, output: str, mu_scale) -> None:
    if len({_size(job) for job in chunk}) > 1:
        for job in chunk:
            _run_chunk(model, padded, guides, [job], out, output, mu_scale)
        return
    inputs = torch.cat([padded[(..., *job.source)] for job in chunk])
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    with autocast(padded.device):
        if guides:
            pred = sum(
                model.network(
                    inputs,
                    torch.cat([theta[(..., *j.source)] for j in chunk]),
                    torch.cat([x0[(..., *j.source)] for j in chunk]),
                    mu_scale,
                )[0].float()
                for theta, x0 in guides
            ) / len(guides)
        else:
            x, z = model.network(inputs, mu_scale=mu_scale)
            pred = z if output == "z" else x
    pred = pred.float().cpu().numpy()
    for job, tile in zip(chunk, pred, strict=True):
        out[job.target] = tile[0][job.keep]


def _size(job: _Job) -> tuple[int, int]:
    return tuple(s.stop - s.start for s in job.source)

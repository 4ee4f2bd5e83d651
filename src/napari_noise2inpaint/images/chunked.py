"""Out-of-core denoising: chunk by chunk with a halo, as a lazy dask array or into OME-Zarr."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Generator
from dataclasses import dataclass, field

import dask.array as da
import numpy as np

from napari_noise2inpaint.engine.denoise_options import check_denoise_options, check_whole_number
from napari_noise2inpaint.engine.events import DenoiseProgress
from napari_noise2inpaint.engine.inference import denoise
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.modelfiles.checkpoint import model_to_bytes
from napari_noise2inpaint.modelfiles.loading import model_from_bytes
from napari_noise2inpaint.prior.choice import first_plane, pick_network

DEFAULT_CHUNK = {2: 1024, 3: 128}
DEFAULT_CHUNK_DEPTH = 32
#: Seconds to wait for a dask.distributed scheduler to answer.
CONNECT_TIMEOUT_S = 20


@dataclass(frozen=True)
class ChunkPlan:
    """How an image is cut for out-of-core prediction.

    Attributes
    ----------
    chunks : tuple of tuple of int
        Dask chunk sizes per axis; inner borders fall on multiples of the U-Net's pooling
        factor, so every chunk sees the same pixel grid as whole-image prediction.
    halo : dict of int to int
        Context pixels read around each chunk along each spatial axis.
    notes : list of str
        Corrections made to the requested chunk or halo sizes.
    """

    chunks: tuple[tuple[int, ...], ...]
    halo: dict[int, int]
    notes: list[str] = field(default_factory=list)

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """The regular chunk shape (the first chunk along each axis)."""
        return tuple(sizes[0] for sizes in self.chunks)


def plan_chunks(
    model: TrainedModel,
    shape: tuple[int, ...],
    *,
    channel_axis: int | None = None,
    chunks: tuple[int, ...] | None = None,
    halo: int | None = None,
) -> ChunkPlan:
    """Choose chunk and halo sizes that give the same result as whole-image prediction.

    Parameters
    ----------
    model : TrainedModel
        The model; its receptive radius is the smallest exact halo.
    shape : tuple of int
        Shape of the image.
    channel_axis : int, optional
        Axis holding channels (always kept whole).
    chunks : tuple of int, optional
        Requested chunk shape; spatial sizes are rounded up to the pooling factor and to at
        least the halo.
    halo : int, optional
        Requested halo; a halo smaller than the receptive radius would change the result,
        so it is raised to it (with a note).

    Returns
    -------
    ChunkPlan
    """
    check_denoise_options(model, channel_axis=channel_axis)
    check_whole_number("halo", halo, 0)
    if chunks is not None and not isinstance(chunks, tuple | list):
        raise InputError(f"chunks must be a tuple of sizes, one per axis; got {chunks!r}.")
    for size in chunks or ():
        check_whole_number("A chunk size", size, 1)
    ndim = len(shape)
    dims = model.config.spatial_dims
    if ndim < dims:
        raise InputError(f"A {dims}D model needs at least {dims} axes; the image has {shape}.")
    if channel_axis is not None and channel_axis % ndim >= ndim - dims:
        raise InputError("The channel axis cannot be one of the image's spatial axes.")
    multiple = 2**model.config.depth
    notes: list[str] = []
    reach = _round_up(model.network.receptive_radius(), multiple)
    if halo is None or halo < reach:
        if halo is not None:
            notes.append(f"The halo {halo} is below the network's reach; using {reach} pixels.")
        halo = reach
    halo = _round_up(halo, multiple)
    requested = chunks or _default_chunks(shape, dims)
    chunk_notes = notes if chunks else []  # the defaults are adjusted silently
    if len(requested) != ndim:
        raise InputError(f"Give one chunk size per axis ({ndim}), got {tuple(requested)}.")
    sizes = []
    for axis, (length, size) in enumerate(zip(shape, requested, strict=True)):
        if channel_axis is not None and axis == channel_axis % ndim:
            sizes.append((length,))
        elif axis >= ndim - dims:
            sizes.append(_spatial_chunks(length, size, halo, multiple, chunk_notes))
        else:
            sizes.append(_regular(length, max(1, size)))
    depth = dict.fromkeys(range(ndim - dims, ndim), halo)
    return ChunkPlan(tuple(sizes), depth, notes)


def _default_chunks(shape: tuple[int, ...], dims: int) -> tuple[int, ...]:
    lead = (1,) * (len(shape) - dims)
    if dims == 3:
        return (*lead, DEFAULT_CHUNK_DEPTH, DEFAULT_CHUNK[3] * 4, DEFAULT_CHUNK[3] * 4)
    return (*lead, DEFAULT_CHUNK[2], DEFAULT_CHUNK[2])


def _spatial_chunks(length, size, halo, multiple, notes) -> tuple[int, ...]:
    rounded = max(_round_up(max(1, size), multiple), halo)
    if rounded != size and rounded < length:
        notes.append(
            f"Chunk size {size} changed to {rounded}: chunks must be multiples of {multiple} "
            f"and at least the {halo}-pixel halo."
        )
    sizes = list(_regular(length, rounded))
    if len(sizes) > 1 and sizes[-1] < halo:
        sizes[-2:] = [sizes[-2] + sizes[-1]]  # a sliver thinner than the halo joins its neighbour
    return tuple(sizes)


def _regular(length: int, size: int) -> tuple[int, ...]:
    size = min(size, length)
    return (size,) * (length // size) + ((length % size,) if length % size else ())


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def denoise_lazy(
    model: TrainedModel,
    image,
    *,
    plan: ChunkPlan | None = None,
    channel_axis: int | None = None,
    output: str | None = None,
    noise_sigma: float | None = None,
    device: str = "auto",
    tile_size: int | None = None,
) -> da.Array:
    """Return a lazy dask array of the denoised image; chunks are computed on demand.

    Parameters
    ----------
    model : TrainedModel
        The trained model (shipped to dask workers as safetensors bytes, never pickled).
    image : dask.array.Array or array_like
        The noisy image; it is not read until the result is computed.
    plan : ChunkPlan, optional
        From :func:`plan_chunks`; its default otherwise.
    channel_axis, output, noise_sigma, device, tile_size
        As for :func:`napari_noise2inpaint.denoise` (``noise_sigma`` must be a number here).

    Returns
    -------
    dask.array.Array
        float32, the image's shape; equal to whole-image prediction.
    """
    try:
        image = image if isinstance(image, da.Array) else da.asarray(image)
    except (ValueError, TypeError):
        raise InputError("The image is not one array of numbers (planes of one shape).") from None
    if image.ndim < 2 or image.size == 0:
        raise InputError(f"The image must have at least 2 non-empty axes, got {image.shape}.")
    if not np.issubdtype(image.dtype, np.number) and image.dtype != bool:
        raise InputError(f"The image has dtype {image.dtype}; real numbers are needed.")
    if isinstance(noise_sigma, str):
        raise InputError("Give the noise level as a number for chunked denoising.")
    options = {
        "channel_axis": channel_axis,
        "output": output,
        "noise_sigma": noise_sigma,
        "device": device,
        "tile_size": tile_size,
    }
    check_denoise_options(model, **options)
    plan = plan or plan_chunks(model, image.shape, channel_axis=channel_axis)
    model, options = one_network(model, image, plan, options)
    model_bytes = model_to_bytes(model)
    block = functools.partial(
        _denoise_block,
        model_bytes=model_bytes,
        key=hashlib.sha1(model_bytes).hexdigest(),
        options=options,
    )
    return image.rechunk(plan.chunks).map_overlap(
        block,
        depth=plan.halo,
        boundary="none",
        trim=True,
        dtype=np.float32,
        meta=np.empty((0,) * image.ndim, dtype=np.float32),
    )


_CACHE = threading.local()


def _denoise_block(block: np.ndarray, *, model_bytes: bytes, key: str, options: dict) -> np.ndarray:
    """Denoise one block on a dask worker, rebuilding the model once per worker thread."""
    if getattr(_CACHE, "key", None) != key:
        _CACHE.key, _CACHE.model = key, model_from_bytes(model_bytes)
    return _denoise_array(_CACHE.model, block, options)


def _denoise_array(model: TrainedModel, block: np.ndarray, options: dict) -> np.ndarray:
    return denoise(model, block, **options).astype(np.float32, copy=False)


def one_network(model: TrainedModel, image, plan: ChunkPlan, options: dict) -> tuple:
    """Choose the built-in prior's network once, on the first chunk: no seams between chunks.

    Returns the network and the options its chunks are denoised with (a given noise model
    may leave the data consistency to the network, see
    :func:`~napari_noise2inpaint.prior.choice.pick_network`).
    """
    if not model.alternatives:
        return model, options
    axis = options.get("channel_axis")
    chosen, noise = pick_network(
        model,
        lambda: first_plane(first_chunk(image, plan), axis),
        options.get("noise"),
        options.get("noise_sigma"),
    )
    return chosen, {**options, "noise": noise}


def first_chunk(image, plan: ChunkPlan) -> np.ndarray:
    """Return the first chunk of ``plan`` (without its halo), read into memory."""
    return np.asarray(image[tuple(slice(0, int(sizes[0])) for sizes in plan.chunks)])


def iter_denoise_chunks(
    model: TrainedModel,
    image,
    target,
    *,
    plan: ChunkPlan | None = None,
    **options,
) -> Generator[DenoiseProgress, None, None]:
    """Denoise chunk by chunk into ``target``, yielding progress after each chunk.

    Each chunk is read with its halo, denoised and written before the next is read, so peak
    memory is one chunk with its halo (and the network's tiles), whatever the image size.
    The result equals :func:`denoise_lazy`'s (same chunks, halos and prediction).

    Parameters
    ----------
    model : TrainedModel
        The trained model.
    image : dask.array.Array, zarr.Array or numpy.ndarray
        The noisy image; read one window at a time.
    target : zarr.Array or numpy.ndarray
        Where to write; same shape as ``image``.
    plan : ChunkPlan, optional
        From :func:`plan_chunks`; its default otherwise.
    **options
        ``channel_axis``, ``output``, ``noise_sigma``, ``device``, ``tile_size`` as for
        :func:`denoise_lazy`.
    """
    check_denoise_options(model, **options)
    plan = plan or plan_chunks(model, image.shape, channel_axis=options.get("channel_axis"))
    model, options = one_network(model, image, plan, options)
    offsets = [np.cumsum((0, *sizes)) for sizes in plan.chunks]
    numblocks = tuple(len(sizes) for sizes in plan.chunks)
    total = int(np.prod(numblocks))
    for done, index in enumerate(np.ndindex(*numblocks), start=1):
        region = [slice(int(o[i]), int(o[i + 1])) for o, i in zip(offsets, index, strict=True)]
        window = [
            slice(max(0, r.start - plan.halo.get(a, 0)), min(n, r.stop + plan.halo.get(a, 0)))
            for a, (r, n) in enumerate(zip(region, image.shape, strict=True))
        ]
        block = np.asarray(image[tuple(window)])
        result = _denoise_array(model, block, options)
        inner = tuple(
            slice(r.start - w.start, r.stop - w.start) for r, w in zip(region, window, strict=True)
        )
        target[tuple(region)] = result[inner]
        yield DenoiseProgress(done, total)


def store_on_cluster(result: da.Array, target, scheduler: str) -> None:
    """Compute ``result`` into ``target`` on a running dask.distributed scheduler.

    Parameters
    ----------
    result : dask.array.Array
        A lazy result, e.g. from :func:`denoise_lazy`.
    target : zarr.Array
        Output array on storage every worker can reach (a shared file system or object store).
    scheduler : str
        Address of the scheduler, e.g. ``tcp://10.0.0.5:8786``.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler needs dask.distributed: pip install 'napari-noise2inpaint[cluster]'."
        ) from None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except OSError as error:
        raise InputError(f"Cannot reach the dask scheduler at {scheduler} ({error}).") from None
    with client:
        da.store(result, target, lock=False, compute=True)

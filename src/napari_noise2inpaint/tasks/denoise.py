"""Denoising one image: the one way that the command line and the widgets both take.

:func:`prepare_denoise` settles what the user left open (the channel axis: the model's when
none is given) and how the image is cut (whole, in memory; chunk by chunk for a dask array).
The caller shows its notes and, for chunked work, creates the target array from its plan.
:func:`iter_denoise_task` then picks the built-in prior's network (saying which, in one line),
denoises, yields the engine's :class:`~napari_noise2inpaint.engine.events.DenoiseProgress`
and returns a :class:`DenoiseResult`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dask.array as da

from napari_noise2inpaint.engine.data import resolve_channel_axis
from napari_noise2inpaint.engine.denoise_options import check_denoise_options
from napari_noise2inpaint.engine.events import DenoiseProgress
from napari_noise2inpaint.engine.inference import iter_denoise
from napari_noise2inpaint.engine.per_image import settings_noise
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.chunked import (
    ChunkPlan,
    denoise_lazy,
    first_chunk,
    iter_denoise_chunks,
    plan_chunks,
    store_on_cluster,
)
from napari_noise2inpaint.noise import AUTO
from napari_noise2inpaint.prior.choice import first_plane, prior_note

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts
    from napari_noise2inpaint.noise import NoiseModel


@dataclass(frozen=True)
class DenoiseOptions:
    """What the user chose for denoising one image.

    Attributes
    ----------
    channel_axis : int or None
        Axis holding channels; None takes the model's (``model.config.channel_axis``).
    device : str
        "auto", "cpu", "cuda" or "mps".
    output : {"z", "x", "masks"} or None
        Test-time output; None takes the model's.
    noise_sigma : float or "estimate" or None
        Noise level of the image when it differs from the training data's (see
        :func:`~napari_noise2inpaint.engine.inference.iter_denoise`); a number for chunks.
    noise_settings : dict or None
        Config fields of a noise model the user chose; they replace the noise estimate of
        models that estimate each image's noise (the built-in prior). Not with a scheduler.
    chunks : tuple of int or None
        Chunk shape of a dask array (see :func:`~.images.chunked.plan_chunks`).
    halo : int or None
        Context pixels around each chunk; None takes the network's reach.
    scheduler : str or None
        Address of a dask.distributed scheduler that computes the chunks of a dask array.
    """

    channel_axis: int | None = None
    device: str = "auto"
    output: str | None = None
    noise_sigma: float | str | None = None
    noise_settings: dict | None = None
    chunks: tuple[int, ...] | None = None
    halo: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class DenoiseTask:
    """One image to denoise with everything settled; made by :func:`prepare_denoise`.

    Attributes
    ----------
    model : TrainedModel
        The model as given (the built-in prior still with its alternatives).
    image : numpy.ndarray or dask.array.Array
        The noisy image; a dask array is denoised chunk by chunk.
    options : DenoiseOptions
        The user's options, the channel axis settled (the model's when none was given).
    plan : ChunkPlan or None
        How a dask array is cut into chunks; None for an image denoised whole, in memory.
    notes : tuple of str
        What the user should know before the work starts (an axis read as RGB channels,
        chunk or halo sizes changed).
    """

    model: ModelParts
    image: object
    options: DenoiseOptions
    plan: ChunkPlan | None
    notes: tuple[str, ...]

    @property
    def channel_axis(self) -> int | None:
        """The channel axis the image is denoised with (the user's, else the model's)."""
        return self.options.channel_axis


@dataclass(frozen=True)
class DenoiseResult:
    """What denoising one image gave.

    Attributes
    ----------
    image : numpy.ndarray or array_like
        The denoised image (float32, the input's shape); for chunked work the target array
        it was written into.
    note : str or None
        One line on the noise the built-in prior found or was given and which of its networks
        denoised ("Noise: ...; denoised with the built-in prior's ... network."); a model
        without alternatives has one only when the user's noise settings were used.
    """

    image: object
    note: str | None


def model_channel_axis(model: ModelParts, channel_axis: int | None) -> int | None:
    """Return ``channel_axis``, or the model's channel axis when it is None.

    Parameters
    ----------
    model : TrainedModel
        The model; its ``config.channel_axis`` is the default.
    channel_axis : int or None
        The user's channel axis, if any.

    Returns
    -------
    int or None
    """
    return channel_axis if channel_axis is not None else model.config.channel_axis


def prepare_denoise(model: ModelParts, image, options: DenoiseOptions | None = None) -> DenoiseTask:
    """Settle the channel axis, check the options and plan the chunks; no pixel is denoised.

    Parameters
    ----------
    model : TrainedModel
        The trained model (or the built-in prior).
    image : numpy.ndarray or dask.array.Array
        The noisy image; a dask array (data larger than memory) is denoised chunk by chunk.
    options : DenoiseOptions, optional
        The user's options; the defaults otherwise.

    Returns
    -------
    DenoiseTask

    Raises
    ------
    InputError
        An option of the wrong kind, a channel axis the image lacks, impossible chunks.
    """
    options = options or DenoiseOptions()
    axis = model_channel_axis(model, options.channel_axis)
    options = dataclasses.replace(options, channel_axis=axis)
    check_denoise_options(model, **_engine_options(options))
    if options.scheduler and options.noise_settings:
        raise InputError("Noise settings cannot be sent to a dask scheduler; leave one out.")
    if isinstance(image, da.Array):
        plan = plan_chunks(
            model, image.shape, channel_axis=axis, chunks=options.chunks, halo=options.halo
        )
        return DenoiseTask(model, image, options, plan, tuple(plan.notes))
    note = resolve_channel_axis(image, axis)[1]
    return DenoiseTask(model, image, options, None, (note,) if note else ())


def iter_denoise_task(
    task: DenoiseTask, target=None
) -> Generator[DenoiseProgress, None, DenoiseResult]:
    """Denoise ``task``'s image, yielding the engine's progress (tiles, or chunks).

    Parameters
    ----------
    task : DenoiseTask
        From :func:`prepare_denoise`.
    target : zarr.Array or numpy.ndarray, optional
        Where chunked work writes (the image's shape, chunks of ``task.plan.chunk_shape``);
        needed for a dask array, unused otherwise.

    Yields
    ------
    DenoiseProgress
        Tiles done of an image in memory, chunks done of a dask array (none with a
        scheduler).

    Returns
    -------
    DenoiseResult
        The result (``target`` for chunked work) and the prior's note.
    """
    if task.plan is not None and target is None:
        raise InputError("A dask array is denoised chunk by chunk into a target; give one.")
    model, noise, note = _network(task)
    options = _engine_options(task.options)
    if task.plan is None:
        image = yield from iter_denoise(model, task.image, noise=noise, **options)
        return DenoiseResult(image, note)
    if task.options.scheduler:
        lazy = denoise_lazy(model, task.image, plan=task.plan, **options)
        store_on_cluster(lazy, target, task.options.scheduler)
    else:
        yield from iter_denoise_chunks(
            model, task.image, target, plan=task.plan, noise=noise, **options
        )
    return DenoiseResult(target, note)


def _engine_options(options: DenoiseOptions) -> dict:
    """Return the options that the engine's denoising functions take."""
    return {
        "channel_axis": options.channel_axis,
        "output": options.output,
        "noise_sigma": options.noise_sigma,
        "device": options.device,
    }


def _network(task: DenoiseTask) -> tuple[ModelParts, NoiseModel | None, str | None]:
    """Return the network that denoises, the user's noise model (if any) and the note.

    The built-in prior's network is chosen once for the whole image, on its first plane (of
    the first chunk for chunked work: no seams between chunks); a given noise level leaves
    the choice to the engine (the physics-aware network).
    """
    model, options = task.model, task.options
    if not model.alternatives and not options.noise_settings:
        return model, None, None
    sample = _sample(task)
    noise = _user_noise(model, sample, options)
    if not model.alternatives or options.noise_sigma is not None:
        note = None if noise is None else f"Noise: {noise.describe()} (your settings)."
        return model, noise, note
    return prior_note(model, sample, options.channel_axis, noise)


def _sample(task: DenoiseTask):
    """Return the image in memory, or the first chunk of a dask array (read now)."""
    if task.plan is None:
        return task.image
    return first_chunk(task.image, task.plan)


def _user_noise(model: ModelParts, sample, options: DenoiseOptions) -> NoiseModel | None:
    """Return the noise of the user's settings, for models that estimate each image's."""
    if not options.noise_settings or model.config.noise_model != AUTO:
        return None
    plane = first_plane(sample, options.channel_axis)
    return settings_noise(plane, model.config.replace(**options.noise_settings))

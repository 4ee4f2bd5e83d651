"""Turning user arrays into normalised training and validation planes (or 3D volumes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from napari_noise2inpaint.config import Noise2InpaintConfig
from napari_noise2inpaint.engine.data import (
    channel_statistics,
    check_array,
    normalise,
    resolve_channel_axis,
    to_planes,
    volume_depth,
)
from napari_noise2inpaint.engine.per_image import channel_noise, noises_per_plane, plane_statistics
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.crops import crops_of_lazy
from napari_noise2inpaint.noise import AUTO, GaussianNoise, from_config
from napari_noise2inpaint.noise.estimation import resolve_noise_parameters


@dataclass
class TrainingData:
    """Normalised ``(H, W)`` planes (``(D, H, W)`` volumes in 3D) for training and validation.

    ``patch_shape`` is ``(patch_size, patch_size)``, or ``(patch_depth, patch_size, patch_size)``
    in 3D, after fitting to the smallest image.
    """

    train: list[np.ndarray]
    validation: list[np.ndarray]
    train_targets: list[np.ndarray] | None
    validation_targets: list[np.ndarray] | None
    means: list[float]
    stds: list[float]
    patch_shape: tuple[int, ...]
    config: Noise2InpaintConfig
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    train_noises: list | None = None
    validation_noises: list | None = None

    @property
    def validation_held_out(self) -> bool:
        """False when the validation planes are training planes (too small to split)."""
        trained = {id(plane) for plane in self.train}
        return bool(self.validation) and not any(id(p) in trained for p in self.validation)

    @property
    def patch_size(self) -> int:
        """Y-X side of the training patches."""
        return self.patch_shape[-1]


def source_training_data(source, config: Noise2InpaintConfig) -> TrainingData:
    """Describe the training data of a source that draws its own normalised patches."""
    side = config.patch_size
    return TrainingData(
        [], [], None, None, [0.0], [1.0], (side, side), config, {"shape": [], "dtype": "float32"}
    )


def prepare_training_data(
    images, config: Noise2InpaintConfig, targets=None, validation=None
) -> TrainingData:
    """Check, split into planes, normalise and hold out validation planes.

    Parameters
    ----------
    images : array_like or list of array_like
        Noisy training data; each array 2D or a stack (planes on the leading axes).
    config : Noise2InpaintConfig
        Supplies the method, channel axis, patch size, validation fraction and seed.
    targets : array_like or list of array_like, optional
        Clean images matching ``images`` (needed for supervised training).
    validation : array_like or list of array_like, optional
        Separate noisy validation images; otherwise planes (or patches) are held out.

    Returns
    -------
    TrainingData
        Including ``config`` with estimated noise parameters filled in.
    """
    images, notes = crops_of_lazy(images, config)
    arrays = _as_list(images, "training image")
    if config.method == "supervised" and targets is None:
        raise InputError("Supervised training needs clean targets (--target).")
    target_arrays = _as_list(targets, "target image") if targets is not None else None
    if target_arrays is not None and len(target_arrays) != len(arrays):
        raise InputError(
            f"Give one clean target per noisy image: {len(arrays)} noisy, "
            f"{len(target_arrays)} targets."
        )
    if target_arrays is not None and [a.shape for a in target_arrays] != [a.shape for a in arrays]:
        raise InputError("Each target must have the same shape as its noisy image.")
    stacks, axis = _planes_of(arrays, config.channel_axis, notes)
    if not _unit_weight_white(config):
        config = resolve_noise_parameters(config, stacks, notes)
    depths = _depths(arrays, axis, config)
    noises = None
    if config.normalisation == "per_image":
        means, stds = [0.0], [1.0]
        planes, noises = _each_plane_normalised(stacks, config)
    else:
        pooled = np.concatenate([s.reshape(s.shape[0], -1) for s in stacks], axis=1)
        means, stds = channel_statistics(pooled[:, None])
        planes = _flat_normalised(stacks, means, stds, depths)
    target_planes = None
    if target_arrays is not None:
        target_stacks = _planes_of(target_arrays, axis, [])[0]
        target_planes = _flat_normalised(target_stacks, means, stds, depths)
    patch = _fit_patch_size(planes, config, notes)
    if config.spatial_dims == 3:
        patch = (_fit_patch_depth(planes, config, notes), *patch)
    if config.normalisation == "per_image" and (target_arrays or validation is not None):
        raise InputError("Models that normalise each image train without targets or validation.")
    train, val, train_t, val_t, noise_split = _split(
        planes, target_planes, config, validation, axis, means, stds, patch, notes, noises
    )
    info = {
        "shapes": [list(a.shape) for a in arrays],
        "dtype": str(arrays[0].dtype),
        "planes": sum(len(p) for p in planes) if depths else len(planes),
        "channel_axis": axis,
    }
    data = TrainingData(train, val, train_t, val_t, means, stds, patch, config, info, notes)
    data.train_noises, data.validation_noises = noise_split
    return data


def _unit_weight_white(config: Noise2InpaintConfig) -> bool:
    """Tell whether a per-image model keeps unit-weight white noise, as when it denoises.

    The built-in prior's white-noise network was trained so; estimating sigma for its
    adaptation would change its data consistency and start about 1 dB below it.
    """
    if config.normalisation != "per_image" or config.noise_model == AUTO:
        return False
    return from_config(config) == GaussianNoise()


def _as_list(images, name: str) -> list[np.ndarray]:
    if isinstance(images, (list, tuple)):
        if not images:
            raise InputError(f"No {name} was given.")
        return [check_array(a, name) for a in images]
    return [check_array(images, name)]


def _planes_of(arrays, channel_axis, notes):
    stacks, axes = [], set()
    for array in arrays:
        axis, note = resolve_channel_axis(array, channel_axis)
        if note and note not in notes:
            notes.append(note)
        axes.add(axis)
        stacks.append(to_planes(array, axis)[0])
    if len({s.shape[0] for s in stacks}) > 1:
        raise InputError("All training images must have the same number of channels.")
    return stacks, axes.pop() if len(axes) == 1 else None


def _depths(arrays, axis, config: Noise2InpaintConfig) -> list[int] | None:
    """Z size of each array in 3D mode (None in 2D mode)."""
    if config.spatial_dims == 2:
        return None
    return [volume_depth(a.shape, resolve_channel_axis(a, axis)[0]) for a in arrays]


def _flat_normalised(stacks, means, stds, depths=None) -> list[np.ndarray]:
    """Normalise ``(C, N, H, W)`` stacks; return their planes, or volumes of ``depths`` planes."""
    planes = []
    for index, stack in enumerate(stacks):
        normalise(stack, means, stds)
        grouped = () if depths is None else (depths[index],)
        planes.extend(stack.reshape(-1, *grouped, *stack.shape[-2:]))
    return planes


def _fit_patch_depth(volumes, config: Noise2InpaintConfig, notes: list[str]) -> int:
    multiple = 2**config.depth
    thinnest = min(v.shape[0] for v in volumes)
    if thinnest < multiple:
        raise InputError(
            f"A volume has only {thinnest} Z planes; 3D training needs at least {multiple} "
            "(U-Net depth 2 ** depth); use 2D planes."
        )
    if thinnest >= config.patch_depth:
        return config.patch_depth
    depth = thinnest - thinnest % multiple
    notes.append(f"Volumes have fewer than {config.patch_depth} planes; patch depth {depth}.")
    return depth


def _fit_patch_size(planes, config: Noise2InpaintConfig, notes: list[str]) -> tuple[int, int]:
    multiple = 2**config.depth
    smallest = min(min(p.shape[-2:]) for p in planes)
    if smallest < 2 * multiple:
        raise InputError(
            f"An image is only {smallest} pixels on one side; training needs at least "
            f"{2 * multiple}x{2 * multiple} pixels."
        )
    if smallest >= config.patch_size:
        return config.patch_size, config.patch_size
    patch = smallest - smallest % multiple
    notes.append(f"Images are smaller than the {config.patch_size}-pixel patch; using {patch}.")
    return patch, patch


def _split(planes, target_planes, config, validation, axis, means, stds, patch, notes, noises):
    """Hold out validation planes, or a band of every plane; per-plane noise models follow."""
    if validation is not None:
        val_arrays = _as_list(validation, "validation image")
        val_stacks = _planes_of(val_arrays, axis, [])[0]
        val_depths = _depths(val_arrays, axis, config)
        val = _flat_normalised(val_stacks, means, stds, val_depths)
        return planes, val, target_planes, None, (None, None)
    n_val = int(round(config.val_fraction * len(planes)))
    if config.val_fraction == 0 or n_val == 0 or n_val >= len(planes):
        return (*_split_bands(planes, target_planes, config, patch, notes), (noises, noises))
    held_out = _hold_out_order(planes, config)
    train, val = _partition(planes, held_out)
    targets = _partition(target_planes, held_out) if target_planes is not None else (None, None)
    noise_split = _partition(noises, held_out) if noises is not None else (None, None)
    return train, val, *targets, noise_split


def _hold_out_order(planes, config) -> set[int]:
    """Return the planes held out for validation (a seeded random ``val_fraction`` of them)."""
    n_val = int(round(config.val_fraction * len(planes)))
    order = torch.randperm(len(planes), generator=torch.Generator().manual_seed(config.seed + 1))
    return set(order[:n_val].tolist())


def _partition(items: list, held_out: set[int]) -> tuple[list, list]:
    kept = [item for i, item in enumerate(items) if i not in held_out]
    return kept, [item for i, item in enumerate(items) if i in held_out]


def _split_bands(planes, target_planes, config, patch, notes):
    """Hold out the bottom band of every plane (too few planes to hold whole ones out).

    The band (``val_fraction`` of the rows, at least one patch high) is never trained on, so
    the validation loss measures the network on pixels whose noise it cannot have learned:
    what decides which weights are kept (and whether a starting model is kept). Planes too
    small for a band are validated on fixed patches of themselves, with a note.
    """
    height = min(p.shape[-2] for p in planes)
    band = max(patch[-2], math.ceil(config.val_fraction * height))
    band += -band % 2**config.depth
    if config.val_fraction == 0 or height - band < patch[-2] or config.spatial_dims == 3:
        if config.val_fraction > 0:
            notes.append("The images are too small to hold out a validation region.")
        return planes, list(planes), target_planes, target_planes

    def cut(items):
        if items is None:
            return None, None
        train = [np.ascontiguousarray(p[..., : p.shape[-2] - band, :]) for p in items]
        return train, [np.ascontiguousarray(p[..., p.shape[-2] - band :, :]) for p in items]

    (train, val), (train_t, val_t) = cut(planes), cut(target_planes)
    return train, val, train_t, val_t


def _each_plane_normalised(stacks, config: Noise2InpaintConfig) -> tuple[list, list]:
    """Normalise every 2D plane of ``(C, N, H, W)`` stacks by its own mean and std.

    Returns the planes and the noise model of each in its normalised units: the physics
    (intensity units) is estimated once per channel (``noise_model="auto"``) or taken from
    the config.
    """

    def physics_of(channel):
        return channel_noise(channel[0]) if config.noise_model == AUTO else from_config(config)

    planes, noises = [], []
    for stack in stacks:
        means, stds = plane_statistics(stack)
        noises += noises_per_plane(stack, means, stds, physics_of)
        planes.extend(((stack - means) / stds).astype(np.float32).reshape(-1, *stack.shape[-2:]))
    return planes, noises

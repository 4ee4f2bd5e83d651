"""Checking user arrays, splitting them into 2D planes (or 3D volumes) and normalising them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_noise2inpaint.errors import InputError


@dataclass(frozen=True)
class PlaneLayout:
    """How an nD array was turned into ``(channels, planes, H, W)`` and how to undo it."""

    shape: tuple[int, ...]
    channel_axis: int | None

    def restore(self, planes: np.ndarray) -> np.ndarray:
        """Inverse of :func:`to_planes` for an array of the planes' shape."""
        if self.channel_axis is None:
            return planes.reshape(self.shape)
        moved = list(self.shape)
        channels = moved.pop(self.channel_axis)
        out = planes.reshape([channels, *moved])
        return np.moveaxis(out, 0, self.channel_axis)


def check_array(array: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``array`` as a numpy array after rejecting what cannot be denoised.

    Parameters
    ----------
    array : array_like
        Image data of any integer, boolean or float dtype, at least 2D.
    name : str
        How to call the data in error messages.

    Returns
    -------
    numpy.ndarray
        The same data (not copied when already an ndarray).

    Raises
    ------
    InputError
        Empty, fewer than 2 dimensions, non-numeric, or containing NaN or Inf values.
    """
    try:
        array = np.asarray(array)
    except (ValueError, TypeError):  # ragged lists: planes of different shapes
        raise InputError(
            f"The {name} holds planes of different shapes; give planes of one shape, "
            "or denoise them one by one."
        ) from None
    if array.dtype == object:
        raise InputError(f"The {name} is not an array of numbers (it holds Python objects).")
    if array.size == 0:
        raise InputError(f"The {name} is empty (shape {array.shape}).")
    if array.ndim < 2:
        raise InputError(f"The {name} must have at least 2 dimensions, got shape {array.shape}.")
    if np.iscomplexobj(array) or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"The {name} has dtype {array.dtype}; real numbers are needed.")
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise InputError(
                f"The {name} has {bad} NaN or Inf pixel(s) of {array.size}; replace them first."
            )
    return array


def resolve_channel_axis(array: np.ndarray, channel_axis: int | None) -> tuple[int | None, str]:
    """Pick the channel axis, treating a trailing axis of size 3 or 4 on 3D data as RGB(A).

    Returns
    -------
    tuple
        ``(axis, note)``: a non-negative axis or None, and a note for the user ('' if none).
    """
    if channel_axis is not None:
        if not -array.ndim <= channel_axis < array.ndim:
            raise InputError(
                f"channel_axis {channel_axis} does not exist in an array of shape {array.shape}."
            )
        axis = channel_axis % array.ndim
        if axis >= array.ndim - 2:
            if array.ndim == 3 and axis == 2:
                return axis, ""
            raise InputError("The channel axis cannot be one of the two image (Y, X) axes.")
        return axis, ""
    if array.ndim == 3 and array.shape[-1] in (3, 4) and min(array.shape[:2]) > 4:
        kind = "RGB" if array.shape[-1] == 3 else "RGBA"
        return 2, f"Treating the last axis (size {array.shape[-1]}) as {kind} channels."
    return None, ""


def to_planes(array: np.ndarray, channel_axis: int | None) -> tuple[np.ndarray, PlaneLayout]:
    """Reshape to float32 ``(channels, planes, H, W)``; every leading axis becomes planes.

    Parameters
    ----------
    array : numpy.ndarray
        Checked image data.
    channel_axis : int or None
        Non-negative channel axis (see :func:`resolve_channel_axis`) or None.

    Returns
    -------
    tuple
        The planes (a new float32 array) and the layout that restores the original shape.
    """
    layout = PlaneLayout(tuple(array.shape), channel_axis)
    data = array if channel_axis is None else np.moveaxis(array, channel_axis, 0)
    if channel_axis is None:
        data = data[np.newaxis]
    if channel_axis is not None and array.ndim == 3 and channel_axis == 2:
        h, w = array.shape[:2]
    else:
        h, w = array.shape[-2:]
    planes = np.array(data, dtype=np.float32).reshape(data.shape[0], -1, h, w)
    return planes, layout


def volume_depth(shape: tuple[int, ...], channel_axis: int | None) -> int:
    """Return the Z size of an array whose last three non-channel axes are a ZYX volume.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array.
    channel_axis : int or None
        Non-negative channel axis (see :func:`resolve_channel_axis`) or None.

    Returns
    -------
    int
        The size of the Z axis: consecutive groups of that many planes of :func:`to_planes`
        form one volume.

    Raises
    ------
    InputError
        The array has no Z axis (a 2D image, or one plane with channels).
    """
    spatial = [size for axis, size in enumerate(shape) if axis != channel_axis]
    if len(spatial) < 3:
        raise InputError(
            f"3D mode needs a Z axis, but the image of shape {tuple(shape)} is 2D"
            f"{' with channels' if channel_axis is not None else ''}; use 2D planes."
        )
    return spatial[-3]


def channel_statistics(planes: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean and standard deviation per channel of ``(C, N, H, W)`` planes (std 1 if constant)."""
    means, stds = [], []
    for channel in planes:
        mean = float(channel.mean(dtype=np.float64))
        std = float(channel.std(dtype=np.float64))
        means.append(mean)
        stds.append(std if std > 1e-12 * max(1.0, abs(mean)) else 1.0)
    return means, stds


def normalise(planes: np.ndarray, means: list[float], stds: list[float]) -> np.ndarray:
    """Return ``(planes - mean) / std`` per channel (in place on ``planes``, which is returned)."""
    for channel, mean, std in zip(planes, means, stds, strict=True):
        channel -= mean
        channel /= std
    return planes


def broadcast_statistics(
    means: list[float], stds: list[float], channels: int
) -> tuple[list[float], list[float]]:
    """Return statistics for ``channels`` channels: one stored set reused, or matching counts."""
    if len(means) == channels:
        return means, stds
    if len(means) == 1:
        return means * channels, stds * channels
    raise InputError(
        f"The model was trained on {len(means)} channels but the image has {channels}."
    )
